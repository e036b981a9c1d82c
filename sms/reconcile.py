"""Reconciliation: calls and texts with no final status after a few minutes are asked about.

Status callbacks get lost (a deploy, a network cut, a killed worker): every minute, a periodic
job asks the provider (the simulator answers too) about calls and texts still unfinished
`TELEPHONY_RECONCILE_MINUTES` after their last change, and applies what it says as if the
callback had come. So no volunteer stays "busy" on a call that ended, and no text stays
queued for ever: a text whose job was lost is queued again, one left being handed to the
provider by a killed worker is marked failed (it is never sent twice).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ringround.background import crontab, enqueue_after_commit, periodic_job
from ringround.extensions import db
from ringround.models import CallLeg, Direction, LegKind, Message, utcnow
from sms.outbound import DISPATCHING, FAILED, deliver_text, on_message_status
from sms.provider import ProviderError, get_provider
from sms.voice.bridge import OVER
from sms.voice.legs import TERMINAL, on_leg_status

BATCH = 200
# Twilio's statuses of a text it has not sent on yet. "sent" is not asked about: many
# carriers never report delivery, so it is where most texts stay.
UNSETTLED_TEXTS = ("queued", "accepted", "scheduled", "sending")


def _cutoff():
    return utcnow() - timedelta(minutes=current_app.config["TELEPHONY_RECONCILE_MINUTES"])


@periodic_job(crontab(minute="*"))
def reconcile_telephony() -> None:
    """Ask the provider about unfinished calls and texts (see the module's note)."""
    reconcile_calls()
    reconcile_texts()


def reconcile_calls() -> int:
    """Settle call legs without a final status; returns how many changed."""
    provider, changed = get_provider(), 0
    legs = db.session.scalars(select(CallLeg).where(
        CallLeg.status.not_in(OVER), CallLeg.updated_at < _cutoff(),
    ).order_by(CallLeg.id).limit(BATCH)).all()
    for leg in legs:
        if not leg.sid:
            if leg.kind == LegKind.BRIDGE_AGENT:  # its job was lost: never placed twice
                leg.status, leg.ended_at = "failed", utcnow()
                leg.state = {**(leg.state or {}), "failure": "lost"}
            else:  # a contact never dialled (the volunteer did not press 1)
                leg.status = "ended"
            changed += 1
            continue
        try:
            state = provider.fetch_call(leg.sid)
        except ProviderError:
            continue  # asked again next minute
        if state is None:  # unknown to the provider: over
            leg.status, leg.ended_at = "ended", utcnow()
            changed += 1
        elif state.status in TERMINAL:
            on_leg_status(db.session, leg, sid=leg.sid, status=state.status, answered_by=None)
            changed += 1
    return changed


def reconcile_texts() -> int:
    """Settle outbound texts without a final status; returns how many changed."""
    provider, changed = get_provider(), 0
    texts = db.session.scalars(select(Message).where(
        Message.direction == Direction.OUTBOUND, Message.updated_at < _cutoff(),
        Message.status.in_((*UNSETTLED_TEXTS, DISPATCHING)),
    ).order_by(Message.id).limit(BATCH)).all()
    for text in texts:
        if text.sid is None:
            if text.status == DISPATCHING:  # a worker died handing it over: never resent
                text.status = FAILED
            else:  # queued, its job lost: the job is idempotent
                text.updated_at = utcnow()
                enqueue_after_commit(db.session(), deliver_text, text.id)
            changed += 1
            continue
        try:
            state = provider.fetch_text(text.sid)
        except ProviderError:
            continue
        if state is not None and state.status not in UNSETTLED_TEXTS:
            on_message_status(db.session, text, state.status, state.error_code)
            changed += 1
    return changed
