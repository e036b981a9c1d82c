"""The provider's refusals of calls and texts, as the phone-line page lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import CallLeg, Direction, Message, utcnow

# What Twilio's error numbers mean (https://www.twilio.com/docs/api/errors), for organizers.
MEANINGS = {
    21211: _l("not a valid phone number (marked as a wrong number)"),
    21214: _l("the number cannot be reached (marked as a wrong number)"),
    21610: _l("the person unsubscribed from texts at their carrier (no more texts)"),
    20429: _l("too many requests to the provider at once (tried again later)"),
    30003: _l("the phone is off or unreachable"),
    30005: _l("unknown number"),
    30006: _l("a landline or a number that cannot receive texts"),
    30007: _l("filtered by the carrier as spam"),
}


@dataclass(frozen=True)
class Refusal:
    when: datetime
    kind: str  # "call" or "text"
    code: int
    meaning: str


def recent_refusals(session: Session, org_id: int, days: int = 7,
                    limit: int = 50) -> list[Refusal]:
    """Calls and texts of the last `days` days that the provider refused with an error code,
    newest first."""
    since = utcnow() - timedelta(days=days)
    legs = session.execute(select(CallLeg.updated_at, CallLeg.error_code).where(
        CallLeg.organization_id == org_id, CallLeg.error_code.is_not(None),
        CallLeg.updated_at >= since).order_by(CallLeg.updated_at.desc()).limit(limit)).all()
    texts = session.execute(select(Message.updated_at, Message.error_code).where(
        Message.organization_id == org_id, Message.direction == Direction.OUTBOUND,
        Message.error_code.is_not(None), Message.updated_at >= since,
    ).order_by(Message.updated_at.desc()).limit(limit)).all()
    rows = [Refusal(when, "call", code, str(MEANINGS.get(code, ""))) for when, code in legs]
    rows += [Refusal(when, "text", code, str(MEANINGS.get(code, ""))) for when, code in texts]
    return sorted(rows, key=lambda r: r.when, reverse=True)[:limit]
