"""Erasure's part on the phone network side: a person's texts, conversations and simulator
records."""

from __future__ import annotations

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from ringround.models import Conversation, Message, SimCall, SimText


def erase_telephony_records(session: Session, org_id: int, contact_id: int,
                            numbers: list[str]) -> int:
    """Erasure: delete the texts and SMS conversations of a contact (by id and by number) and
    the simulator's records of those numbers. Call legs lose the contact by their foreign key.
    Returns how many rows went."""
    gone = session.execute(delete(Message).where(
        Message.organization_id == org_id,
        or_(Message.contact_id == contact_id, Message.remote_e164.in_(numbers)))).rowcount or 0
    gone += session.execute(delete(Conversation).where(
        Conversation.organization_id == org_id,
        or_(Conversation.contact_id == contact_id,
            Conversation.remote_e164.in_(numbers)))).rowcount or 0
    if numbers:
        gone += session.execute(delete(SimText).where(or_(
            SimText.to_number.in_(numbers), SimText.from_number.in_(numbers)))).rowcount or 0
        gone += session.execute(delete(SimCall).where(or_(
            SimCall.to_number.in_(numbers), SimCall.from_number.in_(numbers)))).rowcount or 0
    return gone
