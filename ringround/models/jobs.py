"""Background jobs that failed for good (the dead-letter list an admin sees and retries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ringround.models.base import Base, utcnow


class FailedJob(Base):
    """A job whose last try failed: what it was, with what arguments, and why."""

    __tablename__ = "failed_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_name: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when an admin ran it again (the new try is a new job; it may fail anew).
    retried_at: Mapped[datetime | None] = mapped_column(default=None)
