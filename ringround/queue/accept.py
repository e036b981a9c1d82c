"""Accepting a caller's result: the one rule every path records results through.

The caller app's sync and its plain form (`accept_result`, `accept_edit`) and the call-in
line's keypad all come here. A result is taken when its sender holds the person's lease now,
when it resends the sender's own result (or completes the call the sender placed), or when it
carries the card's lease proof and the lease ended by itself within its grace period with
nobody else on the person since (an offline phone). The queue then records it once by its
client id (`record_result`); an edit is taken within `EDIT_WINDOW` (`edit_result`).
Nothing here commits: the caller commits an accepted result and rolls back a refused one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.calling import ResultError, clean_result, result_time_zone
from ringround.models import Attempt, Operation, Target
from ringround.operation_fields import editable_field_keys
from ringround.queue.errors import QueueError
from ringround.queue.grants import Standing, lease_standing
from ringround.queue.result_edits import edit_result
from ringround.queue.result_types import RecordOutcome, ResultIn
from ringround.queue.results import record_result


@dataclass(frozen=True)
class Acceptance:
    """What became of one result: taken (with the queue's outcome; None for an edit that
    changed nothing) or refused, with words fit to show the caller."""

    outcome: RecordOutcome | None = None
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def accept_result(session: Session, *, operation: Operation, agent_id: int,
                  payload: Mapping[str, Any], proof_key: bytes | None,
                  version: tuple | None = None, now: datetime | None = None) -> Acceptance:
    """Check one result as a caller sent it (`payload`: the phone's fields, unchecked) and
    record it if its sender may (`result_refusal`); a resend returns the first outcome.

    The queue reads the target and asks `result_refusal` under its lock (one statement for
    both). A bridged or call-in call has its attempt under the same client id already: the
    queue completes it (keeping its method). `version`: the operation's settings version,
    for its cached editable fields."""
    zone = None
    if (payload.get("disposition") == "call_back" and payload.get("callback_local")
            and not payload.get("callback_at")):
        try:
            zone = result_time_zone(session, int(payload.get("target_id") or 0))
        except (TypeError, ValueError):
            zone = None
    try:
        values = clean_result(operation, dict(payload),
                              editable_field_keys(session, operation, version), time_zone=zone)
    except ResultError as error:
        return Acceptance(refusal=str(error))

    def admit(target, sender) -> str | None:
        return result_refusal(session, proof_key, agent_id, target, payload, sender=sender)

    result = ResultIn(operation_id=operation.id, agent_id=agent_id, **values)
    try:
        return Acceptance(record_result(session, result, now=now, admit=admit))
    except QueueError as error:
        return Acceptance(refusal=error.message)


def accept_edit(session: Session, *, operation: Operation, agent_id: int,
                payload: Mapping[str, Any], now: datetime | None = None) -> Acceptance:
    """Change a result the agent recorded earlier (an edit made on the phone after it was
    sent; `result_client_id` names it), within `EDIT_WINDOW` and before anyone called the
    person again. A resend changes nothing."""
    result_id = str(payload.get("result_client_id") or "")
    attempt = session.scalar(select(Attempt).where(Attempt.client_id == result_id)
                             .execution_options(populate_existing=True))
    if (attempt is None or attempt.operation_id != operation.id
            or attempt.agent_id != agent_id or attempt.target_id is None):
        return Acceptance(refusal=_("There is no such result of yours to change."))
    target = session.get(Target, attempt.target_id, populate_existing=True)
    try:
        values = clean_result(operation, {**payload, "client_id": result_id,
                                          "target_id": attempt.target_id}, set(),
                              time_zone=target.time_zone if target else None)
    except ResultError as error:
        return Acceptance(refusal=str(error))
    if (attempt.disposition, attempt.answers or {}, attempt.notes) == (
            values["disposition"], values["answers"], values["notes"]):
        return Acceptance()
    try:
        return Acceptance(edit_result(session, result_id, agent_id, values["disposition"],
                                      answers=values["answers"], notes=values["notes"],
                                      callback_at=values["callback_at"], now=now))
    except QueueError as error:
        return Acceptance(refusal=error.message)


# ---------------------------------------------------------------- who may send a result


def lease_proof(key: bytes, agent_id: int, operation_id: int, target_id: int) -> str:
    """A keyed proof that this agent was handed this target (put on the card).

    A result may arrive after its lease ended (an offline phone), when the queue no longer
    says who held the target; the proof shows the sender really was given that person, so a
    volunteer cannot post results for other people of the operation by guessing target ids.
    """
    message = f"lease:{agent_id}:{operation_id}:{target_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def lease_proof_ok(key: bytes | None, agent_id: int, operation_id: int, target_id: int,
                   proof: object) -> bool:
    """True when `proof` is the one `lease_proof` gave for these ids."""
    if key is None or not isinstance(proof, str):
        return False
    return hmac.compare_digest(lease_proof(key, agent_id, operation_id, target_id), proof)


def _refusals() -> dict[Standing, str]:
    return {
        Standing.NOT_GIVEN: _("That person was not given to you to call."),
        Standing.HANDED_BACK: _("Not saved: you handed this person back."),
        Standing.EXPIRED: _("Not saved: you had this person too long ago."),
        Standing.REASSIGNED: _("Not saved: this person was given to someone else since."),
        Standing.ALREADY_DONE: _("Not saved: a result for this person was recorded already."),
    }


_ASK = object()


def result_refusal(session: Session, key: bytes | None, agent_id: int, target: Target,
                   payload: Mapping[str, Any], sender: int | None | object = _ASK
                   ) -> str | None:
    """Why this result may not be recorded, in words for the caller; None if it may.

    A resend of the agent's own result (or the result of the bridged or call-in call it
    placed) is always let through: the queue answers it with the first outcome. A new result
    needs a lease that still stands (`queue.lease_standing`): held now, or, with the lease
    proof of the card, ended by itself within the grace period with nobody else on the person
    since. Results for people handed back, taken over, or already done are refused, never
    stored."""
    client_id = str(payload.get("client_id") or "")
    if sender is _ASK:  # `sender`: as `queue.record_result` read it, when it asks
        sender = session.scalar(select(Attempt.agent_id).where(
            Attempt.client_id == client_id, Attempt.target_id == target.id))
    if sender is not None and sender == agent_id:
        return None
    standing = lease_standing(session, target, agent_id, client_id)
    if standing == Standing.HELD:
        return None
    if not lease_proof_ok(key, agent_id, target.operation_id, target.id,
                          payload.get("lease_proof")):
        return _refusals()[Standing.NOT_GIVEN]
    return None if standing.ok else _refusals()[standing]
