"""The queue's statements, run fast and plain, and its rules cache by operation and version."""

from datetime import time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import bindparam, select

from ringround.extensions import db
from ringround.models import Target
from ringround.queue import QueueError, ResultIn, lease_next, record_result
from ringround.queue._raw import DriverStatement
from ringround.queue._sql import RulesCache
from ringround.queue.statements import PlainStatement, StatementCache, use_plain_statements
from tests.core.queue.conftest import NOW


def test_a_changed_window_is_applied_at_the_next_lease(any_world):
    people = [any_world.contact("A"), any_world.contact("B")]
    op = any_world.operation(people)
    agent = any_world.agent(operation=op)
    assert lease_next(db.session, op, agent, now=NOW) is not None
    db.session.commit()
    op.window_start = time(16, 0)  # New York is at 14:00 (EDT): outside the window now
    db.session.commit()
    assert lease_next(db.session, op, agent, now=NOW + timedelta(minutes=1)) is None


def test_a_disposition_added_is_accepted_at_once(any_world):
    person = any_world.contact()
    op = any_world.operation([person])
    agent = any_world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    with pytest.raises(QueueError):
        record_result(db.session, ResultIn("c1", op.id, lease.target_id, agent.id, "yard_sign"),
                      now=NOW)
    db.session.rollback()
    op.dispositions = {"custom": [{"code": "yard_sign", "label": "Yard sign",
                                   "group": "contacted"}]}
    db.session.commit()
    outcome = record_result(db.session, ResultIn("c2", op.id, lease.target_id, agent.id,
                                                 "yard_sign"), now=NOW)
    assert not outcome.duplicate


def _row(version, weekdays="0123456"):
    return SimpleNamespace(id=7, updated_at=version, dispositions={}, retry_rules={},
                           exclusions={}, cooldown_minutes=0, max_calls_per_person=None,
                           window_start=time(9), window_end=time(21), weekdays=weekdays)


def test_rules_are_cached_by_operation_and_version():
    cache = RulesCache()
    first = cache.get(_row(NOW))
    assert cache.get(_row(NOW)) is first
    # A new version is parsed again: what it says is what counts.
    changed = cache.get(_row(NOW + timedelta(microseconds=1), weekdays="0"))
    assert changed is not first and changed[0].weekdays == frozenset({0})
    # An operation without a version (never written through SQLAlchemy) is never cached.
    assert cache.get(_row(None)) is not cache.get(_row(None))


def test_the_cache_keeps_each_kind_apart():
    cache = StatementCache()
    fast = cache.runnable("x", lambda: select(Target.id))
    cache.kind = "plain"
    plain = cache.runnable("x", lambda: select(Target.id))
    assert isinstance(fast, DriverStatement) and isinstance(plain, PlainStatement)
    with use_plain_statements():
        from ringround.queue.statements import STATEMENTS

        assert STATEMENTS.kind == "plain"


def test_both_kinds_read_the_same_rows(any_world):
    people = [any_world.contact(f"P{i}") for i in range(3)]
    op = any_world.operation(people)

    def build():
        t = Target.__table__
        return select(t.c.id, t.c.state, t.c.next_eligible_at).where(
            t.c.operation_id == bindparam("op")).order_by(t.c.id)

    connection = db.session.connection()
    fast = DriverStatement(build).rows(connection, {"op": op.id})
    plain = PlainStatement(build).rows(connection, {"op": op.id})
    assert [tuple(r) for r in fast] == [tuple(r) for r in plain] and len(fast) == 3
    assert fast[0].next_eligible_at == plain[0].next_eligible_at
    assert fast[0].next_eligible_at.tzinfo is not None
