"""Call legs: what a status or AMD callback changes (filled in with bridged calls)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ringround.models import CallLeg, utcnow

TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled"}


def on_leg_status(session: Session, leg: CallLeg, *, sid: str, status: str | None,
                  answered_by: str | None) -> None:
    """Record a call leg's progress."""
    leg.sid = leg.sid or sid or None
    if status:
        leg.status = status[:32]
        if status in TERMINAL:
            leg.ended_at = utcnow()
    if answered_by:
        leg.answered_by = answered_by[:32]
