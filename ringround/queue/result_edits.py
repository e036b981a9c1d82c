"""Changing a recorded result within `EDIT_WINDOW`: the first result's effects on the target,
the dialed number and the household are undone, and the new one applied (an opt-out is never
undone here). `reapply` also lets a caller's own result replace the provider's automatic one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.models import Attempt, ContactPhone, PhoneStatus, TargetState
from ringround.queue._sql import rules_of
from ringround.queue._tx import begin_write
from ringround.queue.decisions import decide_all
from ringround.queue.errors import QueueError
from ringround.queue.leasing import _now
from ringround.queue.result_effects import commit_decision
from ringround.queue.result_rows import (
    data_of,
    find_attempt,
    load_operation,
    load_target,
    save_target,
)
from ringround.queue.result_types import RecordOutcome, TargetRow, aware, restore

EDIT_WINDOW = timedelta(minutes=10)


def _revert(session: Session, attempt: Attempt) -> TargetRow | None:
    """Undo what applying `attempt` did to its target, its number and its household."""
    target = load_target(session, attempt.target_id) if attempt.target_id else None
    undo = attempt.outcome or {}
    if target is not None and undo.get("before"):
        restore(target, undo["before"])
        save_target(session, target)
    mark = undo.get("phone_mark")
    if mark:
        phone = session.get(ContactPhone, mark["phone_id"])
        if phone is not None and phone.status.value == attempt.disposition:
            phone.status = PhoneStatus(mark["previous"])
    for item in undo.get("household") or []:
        other = load_target(session, item["target_id"])
        if other is not None and other.state == TargetState.REMOVED:
            restore(other, item["before"])
            save_target(session, other)
    return target


def reapply(session: Session, attempt: Attempt, code: str, answers: dict | None,
            notes: str | None, now: datetime, callback_at: datetime | None = None
            ) -> RecordOutcome:
    """Replace a recorded result by another: undo the first, apply the second."""
    operation = load_operation(session, attempt.operation_id)
    codes = rules_of(operation)[1]
    if code not in codes:
        raise QueueError("unknown_disposition", code=code)
    target = _revert(session, attempt)
    data = data_of(attempt)
    if answers is not None:
        data.answers = dict(answers)
    if callback_at is not None:
        data.callback_at = aware(callback_at)
    table = Attempt.__table__
    changes = {"answers": data.answers, "callback_at": data.callback_at, "edited_at": now}
    if notes is not None:
        changes["notes"] = notes
    if target is None:
        group = codes[code].group.value
        session.execute(update(table).where(table.c.id == attempt.id).values(
            disposition=code, disposition_group=group, **changes))
        return RecordOutcome(attempt.id, None, code, group, TargetState.REMOVED.value,
                             "erased", None)
    decision = decide_all(operation, target, data, code, now)
    values = decision.attempt_values
    values["recorded_at"] = attempt.recorded_at  # an edit keeps the first time
    session.execute(update(table).where(table.c.id == attempt.id).values(**values, **changes))
    session.expire(attempt)
    return commit_decision(session, operation, target, data, decision)


def edit_result(session: Session, client_id: str, agent_id: int, disposition: str,
                answers: dict[str, Any] | None = None, notes: str | None = None,
                callback_at: datetime | None = None, now: datetime | None = None
                ) -> RecordOutcome:
    """Change the last result an agent recorded, within 10 minutes and before anyone else
    called that person again. The old result's effects on the target, the dialed number and
    the household are undone and the new one applied (an opt-out is never undone here)."""
    now = _now(now)
    begin_write(session)
    attempt = find_attempt(session, client_id)
    if attempt is None or attempt.recorded_at is None or attempt.agent_id != agent_id:
        raise QueueError("not_yours")
    if now - attempt.recorded_at > EDIT_WINDOW:
        raise QueueError("edit_too_late")
    later = session.scalar(select(Attempt.id).where(
        Attempt.target_id == attempt.target_id, Attempt.id > attempt.id,
        Attempt.recorded_at.is_not(None)))
    if later is not None:
        raise QueueError("called_again")
    return reapply(session, attempt, disposition, answers, notes, now, callback_at)
