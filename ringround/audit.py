"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ringround.models import AuditEntry


def record_audit(
    session: Session, org_id: int | None, actor_id: int | None, action: str,
    subject_type: str | None = None, subject_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry. `details` must hold no personal data (it outlives erasure)."""
    entry = AuditEntry(
        organization_id=org_id, actor_id=actor_id, action=action,
        subject_type=subject_type, subject_id=subject_id, details=details or {},
    )
    session.add(entry)
    return entry
