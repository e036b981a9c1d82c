"""Contact imports running in the background, with their progress and report."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ringround.models.base import Base, StrEnumType, utcnow


class ImportStatus(enum.StrEnum):
    CHECKING = "checking"  # uploaded, being read in the background (headers, first rows)
    PREVIEW = "preview"  # the organizer checks the column mapping
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """The status as people read it, in the current language."""
        return str(IMPORT_STATUS_LABELS[self])


IMPORT_STATUS_LABELS = {
    ImportStatus.CHECKING: _l("Checking the file"), ImportStatus.PREVIEW: _l("Columns to check"),
    ImportStatus.QUEUED: _l("Waiting to start"), ImportStatus.RUNNING: _l("Importing"),
    ImportStatus.DONE: _l("Imported"), ImportStatus.FAILED: _l("Import failed"),
}


class ImportJob(Base):
    """One uploaded contact file and what became of it. The file and its report (rejected
    rows) live in the instance folder and are deleted with the job."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64))
    status: Mapped[ImportStatus] = mapped_column(
        StrEnumType(ImportStatus), default=ImportStatus.PREVIEW
    )
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_region: Mapped[str | None] = mapped_column(String(2))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A vCard import's consent note, required (people from phones did not sign up): where
    # the contacts come from and what they will be called about, kept with each contact.
    consent_source: Mapped[str | None] = mapped_column(String(120))
    consent_purpose: Mapped[str | None] = mapped_column(String(500))
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    # The first rows, cut short, for the mapping page; emptied when the import starts.
    preview: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The job queue's view (ringround/people/jobs.py): written with every commit of a running
    # import, so a stale one was interrupted (its worker killed) and the sweep resumes it.
    updated_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # What a running import has committed (rows read, summary, report size), in the same
    # transaction as its contacts: a resumed import starts after it.
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
