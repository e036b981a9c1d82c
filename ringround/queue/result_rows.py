"""Reading and writing a result's rows: the target (locked on PostgreSQL), the attempt
inserted once by its client id, and on PostgreSQL both writes in one statement.

Every statement on the result path is prebuilt and run through `runnable` (statements.py), so
the queue's tests run each of them both ways.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ringround.models import Attempt, Operation, Target
from ringround.queue._sql import (
    operation_columns,
    operation_join,
    operation_row,
    prebuilt,
    sibling_count,
)
from ringround.queue._tx import is_postgresql
from ringround.queue.result_types import SNAPSHOT, AttemptData, RecordOutcome, TargetRow
from ringround.queue.statements import runnable

TARGET_FIELDS = ("id", "operation_id", "contact_id", *SNAPSHOT)


def _target_statement(lock: bool):
    t = Target.__table__
    stmt = select(*[t.c[name] for name in TARGET_FIELDS],
                  sibling_count(t).label("siblings")).where(t.c.id == bindparam("target_id"))
    return stmt.with_for_update(of=t) if lock else stmt


def result_statement(lock: bool):
    """One round trip for a result: the target (locked on PostgreSQL), its operation with the
    organization's gap, and the attempt already recorded under this client id, if any (with
    who sent it, for which target)."""
    t = Target.__table__
    a = Attempt.__table__
    stmt = select(
        *[t.c[name] for name in TARGET_FIELDS], sibling_count(t).label("siblings"),
        *operation_columns("op_", rules_as_text=True), a.c.id.label("known_attempt_id"),
        a.c.agent_id.label("known_agent_id"), a.c.target_id.label("known_target_id"),
    ).select_from(operation_join(t.join(Operation.__table__,
                                        Operation.__table__.c.id == t.c.operation_id))
                  .outerjoin(a, a.c.client_id == bindparam("client_id")))
    stmt = stmt.where(t.c.id == bindparam("target_id"))
    return stmt.with_for_update(of=t) if lock else stmt


def load_target(session: Session, target_id: int) -> TargetRow | None:
    """The target's queue columns, locked on PostgreSQL until commit."""
    lock = is_postgresql(session)
    row = session.execute(prebuilt(("target", lock), lambda: _target_statement(lock)),
                          {"target_id": target_id}).first()
    return TargetRow(**row._mapping) if row else None


def _save_statement():
    t = Target.__table__
    return update(t).where(t.c.id == bindparam("target_id")).values(
        {name: bindparam(f"new_{name}", type_=t.c[name].type) for name in SNAPSHOT})


def save_target(session: Session, target: TargetRow,
                 connection: Connection | None = None) -> None:
    params = {f"new_{name}": getattr(target, name) for name in SNAPSHOT}
    params["target_id"] = target.id
    runnable("save_target", _save_statement).run(
        connection or session.connection(), params)


def load_operation(session: Session, operation_id: int):
    return operation_row(session, operation_id)


def find_attempt(session: Session, client_id: str) -> Attempt | None:
    return session.scalars(select(Attempt).where(Attempt.client_id == client_id)
                           .execution_options(populate_existing=True)).first()


def data_of(attempt: Attempt) -> AttemptData:
    return AttemptData(attempt.agent_id, dict(attempt.answers or {}), attempt.callback_at,
                        attempt.started_at, attempt.ended_at, attempt.phone_id,
                        dict(attempt.field_updates or {}), attempt.id, attempt.disposition)


_INSERT_COLUMNS = (
    "client_id", "operation_id", "target_id", "contact_id", "agent_id", "method", "started_at",
    "ended_at", "provider_sid", "provider_status", "answers", "notes", "field_updates",
    "callback_at", "phone_id", "created_at", "disposition", "disposition_group", "recorded_at",
    "outcome",
)


def _insert_statement():
    """INSERT ... SELECT ... WHERE NOT EXISTS (same client id) RETURNING id.

    The NOT EXISTS runs with a fresh snapshot: a resend that waited on the target's lock
    sees the attempt its twin just committed, and inserts nothing. Parameters `a_<column>`
    (SQLAlchemy reserves a column's own name for the SET or VALUES it adds)."""
    a = Attempt.__table__
    values = select(*[bindparam(f"a_{name}", type_=a.c[name].type)
                      for name in _INSERT_COLUMNS]).where(
        ~exists().where(a.c.client_id == bindparam("client_id_again", type_=a.c.client_id.type)))
    return insert(a).from_select(list(_INSERT_COLUMNS), values).returning(a.c.id)


def _insert_params(values: dict[str, Any]) -> dict[str, Any]:
    params = {f"a_{name}": value for name, value in values.items()}
    params["client_id_again"] = values["client_id"]
    return params


def insert_attempt(connection: Connection, values: dict[str, Any]) -> int | None:
    """The new attempt's id, or None if one with this client id exists already."""
    # Columns missing from `values` are NULL (the statement's default for each parameter).
    row = runnable("insert_attempt", _insert_statement).first(connection, _insert_params(values))
    return row[0] if row else None


def _insert_and_save_statement():
    """PostgreSQL: the attempt's INSERT (as above) and the target's UPDATE in one statement,
    one round trip; the UPDATE happens only if the INSERT did."""
    t = Target.__table__
    new = _insert_statement().cte("new_attempt")
    return update(t).where(t.c.id == bindparam("target_id"), new.c.id.is_not(None)).values(
        {name: bindparam(f"new_{name}", type_=t.c[name].type) for name in SNAPSHOT},
    ).returning(new.c.id)


def insert_and_save(connection: Connection, values: dict[str, Any], target: TargetRow
                    ) -> int | None:
    """Insert the attempt and save the decided target; None (and nothing saved) if an
    attempt with this client id exists already."""
    params = _insert_params(values)
    params["target_id"] = target.id
    params.update({f"new_{name}": getattr(target, name) for name in SNAPSHOT})
    row = runnable("insert_and_save", _insert_and_save_statement).first(connection, params)
    return row[0] if row else None


def stored_outcome(attempt: Attempt, **changes) -> RecordOutcome:
    return RecordOutcome.from_json(attempt.outcome["result"], attempt_id=attempt.id, **changes)
