"""The caller views' guard: one statement, read on the driver, gives the same entities the ORM
would load (tests/web/test_caller_hot_path.py counts its statements)."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ringround.caller_access import caller_access
from ringround.extensions import db
from ringround.models import Operation, OperationMember, OperationRole, User
from ringround.queue.statements import use_plain_statements
from tests.caller_fixtures import calling_operation


def _values(entity) -> dict:
    return {attr.key: getattr(entity, attr.key) for attr in inspect(type(entity)).column_attrs}


@pytest.mark.parametrize("kind", ["driver", "plain"])
def test_the_guard_gives_what_the_orm_loads_on_both_databases(any_app, kind):
    op, agent, _contacts = calling_operation(n=1)
    plain = use_plain_statements() if kind == "plain" else contextlib.nullcontext()
    with plain, Session(db.engine) as session:
        access = caller_access(session, op.id, agent.id)
        assert access.role == OperationRole.AGENT and access.organization_name
        operation, user = access.operation, access.user
        # Every column as the ORM reads it (types, time zones, JSON), in a session of its own.
        with Session(db.engine) as reference:
            assert _values(operation) == _values(reference.get(Operation, op.id))
            assert _values(user) == _values(reference.get(User, agent.id))
        # In the session as if loaded by it: clean, found by `get` without a query, and
        # relationships still load.
        assert session.get(User, agent.id) is user and session.get(Operation, op.id) is operation
        assert not session.dirty and not inspect(operation).expired_attributes
        assert [m.user_id for m in operation.members] == [
            m.user_id for m in session.query(OperationMember).filter_by(operation_id=op.id)]
        # A change to one is written as to any loaded entity.
        operation.name = "Renamed by the guard's entity"
        session.commit()
    db.session.expire_all()
    assert db.session.get(Operation, op.id).name == "Renamed by the guard's entity"


def test_the_guard_without_a_user_or_a_membership(app):
    op, _agent, _contacts = calling_operation(n=1)
    other_op, stranger, _ = calling_operation(n=1, name="Another operation")
    with Session(db.engine) as session:
        assert caller_access(session, op.id + 1000, stranger.id) is None
        unknown = caller_access(session, op.id, None)
        assert unknown.user is None and unknown.role is None and unknown.operation.id == op.id
        outsider = caller_access(session, op.id, stranger.id)
        assert outsider.user.id == stranger.id and outsider.role is None
        # An entity the session holds already is the one given (no second copy).
        held = session.get(Operation, other_op.id)
        assert caller_access(session, other_op.id, stranger.id).operation is held
