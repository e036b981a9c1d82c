"""Recording a call's result: the one write every path goes through (the caller app, the
call-in line's keypad, the provider's status for a bridged call).

A result carries a client-made id: a resend with the same id changes nothing and returns the
first outcome. A result may arrive after its lease expired, or after the target was leased to
someone else (offline batches): it is kept and counted once, and never takes a target out of
`done` or `removed`. What a result decides is in `decisions`, the rows it writes in
`result_rows`, its effects beyond the target in `result_effects`, edits in `result_edits`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.dispositions import PROVIDER_STATUS_CODES
from ringround.models import Attempt, CallMethod, Target
from ringround.queue._sql import RULE_COLUMNS, OperationView, rules_of
from ringround.queue._tx import begin_write
from ringround.queue.decisions import decide_all
from ringround.queue.errors import QueueError, ResultRefusedError, UnknownTargetError
from ringround.queue.leasing import _now
from ringround.queue.result_edits import reapply
from ringround.queue.result_effects import commit_decision
from ringround.queue.result_rows import (
    TARGET_FIELDS,
    data_of,
    find_attempt,
    insert_and_save,
    insert_attempt,
    load_operation,
    load_target,
    result_statement,
    stored_outcome,
)
from ringround.queue.result_types import (
    AttemptData,
    RecordOutcome,
    ResultIn,
    TargetRow,
    aware,
)
from ringround.queue.statements import runnable


def record_result(session: Session, result: ResultIn, now: datetime | None = None,
                  admit: Callable[[Any, int | None], str | None] | None = None
                  ) -> RecordOutcome:
    """Record a call's result and apply the operation's rules to its target.

    Idempotent by `result.client_id`: a resend returns the first outcome with
    `duplicate=True` and changes nothing. Raises QueueError for an unknown target, operation
    or disposition (UnknownTargetError: no such target in the operation). The caller commits
    (promptly: the write lock is held until then).

    `admit(target, sender)`, if given, is asked first, with the target as read (locked) here
    and the agent who sent the attempt already under this client id for this target (None
    if none): a message it returns refuses the result (ResultRefusedError), nothing stored.
    """
    now = _now(now)
    connection = begin_write(session)
    lock = connection.dialect.name == "postgresql"
    statement = runnable(("result", lock), lambda: result_statement(lock),
                         frozenset(f"op_{c}" for c in RULE_COLUMNS))
    row = statement.first(connection, {"target_id": result.target_id,
                                       "client_id": result.client_id})
    if row is None or row.operation_id != result.operation_id:
        raise UnknownTargetError
    operation = OperationView(row, "op_")
    if result.disposition not in rules_of(operation)[1]:
        raise QueueError("unknown_disposition", code=result.disposition)
    target = TargetRow(**{name: getattr(row, name) for name in (*TARGET_FIELDS, "siblings")})
    if admit is not None:
        sender = row.known_agent_id if row.known_target_id == target.id else None
        refusal = admit(target, sender)
        if refusal is not None:
            raise ResultRefusedError(refusal)
    data = AttemptData(result.agent_id, dict(result.answers or {}), aware(result.callback_at),
                        aware(result.started_at), aware(result.ended_at), result.phone_id,
                        dict(result.field_updates or {}))
    values = {
        "client_id": result.client_id, "operation_id": operation.id, "target_id": target.id,
        "contact_id": target.contact_id, "agent_id": result.agent_id,
        "method": CallMethod(result.method or CallMethod.OWN_PHONE),
        "started_at": data.started_at, "ended_at": data.ended_at,
        "provider_sid": result.provider_sid, "provider_status": result.provider_status,
        "answers": data.answers, "notes": result.notes, "field_updates": data.field_updates,
        "callback_at": data.callback_at, "phone_id": result.phone_id, "created_at": now,
    }
    # The target row is locked (or, on SQLite, the database): a resend racing this one waits
    # here and then finds the attempt. A plain INSERT follows (cached by SQLAlchemy, unlike an
    # ON CONFLICT one); the unique client_id still refuses anything that slips through.
    attempt_id = None
    saved = False
    if row.known_attempt_id is None:
        decision = decide_all(operation, target, data, result.disposition, now)
        values.update(decision.attempt_values)
        if lock:
            attempt_id = insert_and_save(connection, values, decision.target)
            saved = attempt_id is not None
        else:
            attempt_id = insert_attempt(connection, values)
    if attempt_id is None:
        existing = find_attempt(session, result.client_id)
        if existing.recorded_at is not None:
            if (existing.disposition.startswith("auto_") and existing.agent_id == result.agent_id
                    and not result.disposition.startswith("auto_")):
                # The provider decided first (busy, machine); the caller's own result wins.
                return reapply(session, existing, result.disposition, result.answers,
                               result.notes, now, result.callback_at)
            return stored_outcome(existing, duplicate=True)
        # An attempt opened by `start_attempt` (a bridged call): complete it.
        data = data_of(existing)
        data.answers = dict(result.answers or {})
        data.field_updates = dict(result.field_updates or {})
        data.callback_at = aware(result.callback_at)
        data.ended_at = aware(result.ended_at) or data.ended_at
        data.agent_id = result.agent_id if result.agent_id is not None else data.agent_id
        decision = decide_all(operation, target, data, result.disposition, now)
        session.execute(update(Attempt.__table__).where(Attempt.__table__.c.id == existing.id)
                        .values(answers=data.answers, notes=result.notes,
                                field_updates=data.field_updates, callback_at=data.callback_at,
                                ended_at=data.ended_at, agent_id=data.agent_id,
                                provider_status=result.provider_status
                                or existing.provider_status,
                                **decision.attempt_values))
        attempt_id = existing.id
    data.id = attempt_id
    return commit_decision(session, operation, target, data, decision, connection,
                           target_saved=saved)


def start_attempt(session: Session, client_id: str, operation_id: int, target_id: int,
                  agent_id: int | None, method: CallMethod | str = CallMethod.BRIDGED,
                  provider_sid: str | None = None, now: datetime | None = None) -> Attempt:
    """An attempt whose result is not known yet (a bridged call being placed). Its result
    comes from `record_result` with the same client_id, or from the provider's status via
    `apply_provider_status`. Idempotent by client_id."""
    now = _now(now)
    begin_write(session)
    existing = find_attempt(session, client_id)
    if existing is not None:
        return existing
    target = session.get(Target, target_id)
    if target is None or target.operation_id != operation_id:
        raise UnknownTargetError
    attempt = Attempt(client_id=client_id, operation_id=operation_id, target_id=target_id,
                      contact_id=target.contact_id, agent_id=agent_id,
                      method=CallMethod(method), provider_sid=provider_sid, started_at=now,
                      created_at=now)
    session.add(attempt)
    session.flush()
    return attempt


def apply_provider_status(session: Session, attempt_or_sid: Attempt | str, status: str,
                          now: datetime | None = None) -> RecordOutcome | None:
    """Store the provider's call status on the attempt; a final failure (busy, no-answer,
    failed, answering machine) becomes the automatic disposition and its rules apply, unless
    a result was recorded already. Returns the outcome when a disposition was applied."""
    now = _now(now)
    begin_write(session)
    if isinstance(attempt_or_sid, str):
        attempt = session.scalars(select(Attempt).where(Attempt.provider_sid == attempt_or_sid)
                                  .execution_options(populate_existing=True)).first()
    else:
        attempt = attempt_or_sid
        session.refresh(attempt)
    if attempt is None:
        return None
    status = (status or "").strip().lower()
    attempt.provider_status = status[:32]
    code = PROVIDER_STATUS_CODES.get(status)
    session.flush()
    if code is None or attempt.recorded_at is not None or attempt.target_id is None:
        return None
    operation = load_operation(session, attempt.operation_id)
    target = load_target(session, attempt.target_id)
    if operation is None or target is None:
        return None
    data = data_of(attempt)
    data.ended_at = data.ended_at or now
    decision = decide_all(operation, target, data, code, now)
    table = Attempt.__table__
    session.execute(update(table).where(table.c.id == attempt.id).values(
        ended_at=data.ended_at, **decision.attempt_values))
    session.expire(attempt)
    return commit_decision(session, operation, target, data, decision)
