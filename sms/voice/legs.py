"""Call legs: creating them, and what a status or AMD callback changes.

Status callbacks record the leg's progress at once; turning a final status into a disposition
(the queue's `apply_provider_status`, with its retry rules) runs after the answer, as a job
from the webhook's outbox (sms.jobs).
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.extensions import db
from ringround.models import Attempt, CallLeg, LegKind, Target, TargetState, User, utcnow
from ringround.queue import apply_provider_status, release_target
from ringround.status_order import CALL_RANKS, moves_forward
from sms.jobs import defer, follow_up
from sms.provider import BAD_NUMBER_CODES

TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled", "invalid-number"}
NOT_REACHED = {"busy", "no-answer", "failed", "canceled", "invalid-number"}
CONTACT_LEGS = {LegKind.BRIDGE_CONTACT, LegKind.CALL_IN_CONTACT}


def new_leg(session: Session, kind: LegKind, **fields) -> CallLeg:
    """A call leg with a fresh opaque token (what its webhook URLs carry)."""
    leg = CallLeg(kind=kind, token=secrets.token_urlsafe(16), **fields)
    session.add(leg)
    session.flush()
    return leg


def is_machine(answered_by: str | None) -> bool:
    return bool(answered_by) and (answered_by.startswith("machine") or answered_by == "fax")


def on_leg_status(session: Session, leg: CallLeg, *, sid: str, status: str | None,
                  answered_by: str | None, sequence: int | None = None,
                  error_code: int | None = None) -> None:
    """Record a call leg's progress; hand final outcomes to the queue after the answer.

    A status that does not move the leg forward (a late `ringing` after `completed`, an
    earlier-numbered callback) changes nothing (ringround.status_order). A contact's number
    the provider calls invalid (21211, 21214) counts as a wrong number."""
    leg.sid = leg.sid or sid or None
    if error_code is not None:
        leg.error_code = error_code
        if error_code in BAD_NUMBER_CODES and status in TERMINAL:
            status = "invalid-number"
    if status:
        if not moves_forward(CALL_RANKS, leg.status, status, leg.status_sequence, sequence):
            return
        leg.status = status[:32]
        leg.status_sequence = sequence if sequence is not None else leg.status_sequence
        if status in TERMINAL:
            leg.ended_at = utcnow()
    if answered_by:
        leg.answered_by = answered_by[:32]
    _hand_over(session, leg, status, answered_by)


def _hand_over(session: Session, leg: CallLeg, status: str | None,
               answered_by: str | None) -> None:
    """What the leg's new status means for its attempt (deferred to jobs where it acts)."""
    if leg.kind in CONTACT_LEGS and leg.attempt_id:
        attempt = session.get(Attempt, leg.attempt_id)
        if attempt is not None and attempt.recorded_at is None:
            attempt.provider_sid = attempt.provider_sid or leg.sid
            if is_machine(answered_by):
                defer(apply_status_job, leg.attempt_id, answered_by)
            elif status in NOT_REACHED:
                defer(apply_status_job, leg.attempt_id, status)
            elif status:
                attempt.provider_status = status[:32]
    elif leg.kind == LegKind.BRIDGE_AGENT and status in NOT_REACHED and leg.attempt_id:
        # The volunteer's own phone did not pick up: nobody was called; the person waits again.
        attempt = session.get(Attempt, leg.attempt_id)
        if attempt is not None and attempt.recorded_at is None:
            attempt.provider_status = f"agent_{status}"[:32]
            defer(release_job, attempt.target_id, leg.agent_id)
    elif leg.kind == LegKind.CALL_IN and status in TERMINAL:
        attempt_id = (leg.state or {}).get("attempt_id")
        attempt = session.get(Attempt, attempt_id) if attempt_id else None
        if attempt is not None and attempt.recorded_at is None:
            defer(release_job, attempt.target_id, leg.agent_id)


@follow_up
def apply_status_job(attempt_id: int, status: str) -> None:
    """Deferred: the queue turns the provider's final status into a disposition and retry."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is not None:
        apply_provider_status(db.session, attempt, status)


@follow_up
def release_job(target_id: int | None, agent_id: int | None) -> None:
    """Deferred: give a target back to the queue when its call never happened."""
    agent = db.session.get(User, agent_id) if agent_id else None
    target = db.session.get(Target, target_id) if target_id else None
    if agent is not None and target is not None and target.state == TargetState.LEASED:
        release_target(db.session, target.id, agent, reason="return")


def legs_of(session: Session, parent: CallLeg) -> list[CallLeg]:
    return list(session.scalars(select(CallLeg).where(CallLeg.parent_id == parent.id)
                                .order_by(CallLeg.id)))
