"""Numbers the provider says cannot be reached: marked as a caller's "wrong number" would."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import ContactPhone, PhoneStatus


def mark_number_bad(session: Session, org_id: int, e164: str) -> int:
    """The provider says `e164` is not a valid or reachable number (21211, 21214): mark it
    "wrong number" on the organization's contacts, as a caller's result would (organizers
    can undo it). Returns how many numbers were marked."""
    phones = session.scalars(select(ContactPhone).where(
        ContactPhone.organization_id == org_id, ContactPhone.e164 == e164,
        ContactPhone.status == PhoneStatus.OK)).all()
    for phone in phones:
        phone.status = PhoneStatus.WRONG_NUMBER
    if phones:
        record_audit(session, org_id, None, "phone.marked_by_provider",
                     details={"status": PhoneStatus.WRONG_NUMBER.value})
    session.flush()
    return len(phones)
