"""The audit log: who exported, erased or changed what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ringround.models.base import Base, utcnow


class AuditEntry(Base):
    """One audited action. Kept after the subject is erased (it holds no personal data)."""

    __tablename__ = "audit_entries"
    # The log's page reads an organization's entries newest first, a page at a time
    # (ringround/audit_log.py): one index range, however long the log.
    __table_args__ = (Index("ix_audit_entries_org_created", "organization_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
