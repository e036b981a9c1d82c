"""What an agent can reach: limits on people shown, lease proofs that end, unusual callers."""

from datetime import timedelta

import pytest

from ringround.extensions import db
from ringround.models import Attempt, Target
from ringround.queue import (
    OFFLINE_LEASE_MINUTES,
    RESULT_GRACE,
    LimitReachedError,
    ResultIn,
    SeeingLimits,
    Standing,
    caller_alerts,
    expire_leases,
    lease_batch,
    lease_next,
    lease_standing,
    record_result,
    release_target,
    return_batch,
)
from tests.core.queue.conftest import NOW

LIMITS = SeeingLimits(per_minute=3, per_hour=5)


@pytest.fixture
def crowd(any_world):
    """Thirty people and Lina, on SQLite and on PostgreSQL."""
    people = [any_world.contact(f"P{i}") for i in range(30)]
    op = any_world.operation(people)
    return op, any_world.agent("Lina", operation=op)


def _next_then_skip(op, agent, now, limits=LIMITS):
    lease = lease_next(db.session, op, agent, now=now, limits=limits)
    assert release_target(db.session, lease.target_id, agent, "skip", now=now)
    db.session.commit()
    return lease


def test_next_then_skip_is_limited_per_minute_and_per_hour(crowd):
    op, agent = crowd
    for second in range(3):
        _next_then_skip(op, agent, NOW + timedelta(seconds=second))
    with pytest.raises(LimitReachedError) as refused:
        lease_next(db.session, op, agent, now=NOW + timedelta(seconds=10), limits=LIMITS)
    db.session.rollback()
    assert refused.value.retry_after == 50  # the first of the three leaves the minute then
    # A minute after the first, one more; the hour allows five in all.
    _next_then_skip(op, agent, NOW + timedelta(seconds=61))
    _next_then_skip(op, agent, NOW + timedelta(seconds=125))
    with pytest.raises(LimitReachedError) as refused:
        lease_next(db.session, op, agent, now=NOW + timedelta(minutes=5), limits=LIMITS)
    db.session.rollback()
    assert refused.value.retry_after == 55 * 60
    assert lease_next(db.session, op, agent, now=NOW + timedelta(minutes=61),
                      limits=LIMITS) is not None
    # Without limits (server-driven calling), nothing is counted against anyone.
    assert lease_next(db.session, op, agent, now=NOW + timedelta(minutes=61)) is not None


def test_a_batch_gets_only_what_the_limits_still_allow(crowd, any_world):
    op, agent = crowd
    assert len(lease_batch(db.session, op, agent, 10, now=NOW, limits=LIMITS)) == 3
    db.session.commit()
    with pytest.raises(LimitReachedError):
        lease_batch(db.session, op, agent, 10, now=NOW + timedelta(seconds=30), limits=LIMITS)
    db.session.rollback()
    # Each agent and each operation counts on its own.
    colleague = any_world.agent(operation=op)
    assert len(lease_batch(db.session, op, colleague, 2, now=NOW, limits=LIMITS)) == 2


def _target(target_id):
    db.session.expire_all()
    return db.session.get(Target, target_id)


def test_a_lease_stands_while_held_and_within_the_grace_period_only(crowd):
    op, agent = crowd
    batch = lease_batch(db.session, op, agent, 2, now=NOW)
    db.session.commit()
    first = _target(batch[0].target_id)
    assert lease_standing(db.session, first, agent.id, "c1", now=NOW) == Standing.HELD
    end = NOW + timedelta(minutes=OFFLINE_LEASE_MINUTES)
    expire_leases(db.session, now=end)
    db.session.commit()
    first = _target(batch[0].target_id)
    assert lease_standing(db.session, first, agent.id, "c1", now=end + RESULT_GRACE) == (
        Standing.LATE)
    assert lease_standing(db.session, first, agent.id, "c1",
                          now=end + RESULT_GRACE + timedelta(seconds=1)) == Standing.EXPIRED


def test_a_lease_handed_back_or_given_to_someone_else_no_longer_stands(crowd, any_world):
    op, agent = crowd
    skipped = lease_next(db.session, op, agent, now=NOW)
    release_target(db.session, skipped.target_id, agent, "skip", now=NOW)
    batch = lease_batch(db.session, op, agent, 3, now=NOW, lease_minutes=30)
    return_batch(db.session, op, agent, [batch[0].target_id], now=NOW)
    db.session.commit()
    later = NOW + timedelta(minutes=1)
    for target_id in (skipped.target_id, batch[0].target_id):
        assert lease_standing(db.session, _target(target_id), agent.id, "c", now=later) == (
            Standing.HANDED_BACK)
    # Given to a colleague after the lease ran out: the first agent's proof is over.
    end = NOW + timedelta(minutes=30)
    expire_leases(db.session, now=end)
    colleague = any_world.agent(operation=op)
    taken = lease_batch(db.session, op, colleague, 30, now=end)
    db.session.commit()
    assert batch[1].target_id in {lease.target_id for lease in taken}
    assert lease_standing(db.session, _target(batch[1].target_id), agent.id, "c",
                          now=end) == Standing.REASSIGNED
    # Never leased to a third agent at all.
    stranger = any_world.agent(operation=op)
    assert lease_standing(db.session, _target(batch[2].target_id), stranger.id, "c",
                          now=NOW) == Standing.NOT_GIVEN


def test_a_new_result_for_a_target_already_done_does_not_stand(crowd):
    op, agent = crowd
    lease = lease_next(db.session, op, agent, now=NOW)
    record_result(db.session, ResultIn("first", op.id, lease.target_id, agent.id, "talked"),
                  now=NOW)
    db.session.commit()
    target = _target(lease.target_id)
    assert lease_standing(db.session, target, agent.id, "second", now=NOW) == (
        Standing.ALREADY_DONE)
    assert db.session.query(Attempt).count() == 1


def test_alerts_name_agents_who_skip_many_or_reach_the_limit(crowd, any_world):
    op, agent = crowd
    calm = any_world.agent("Calm", operation=op)
    lease_next(db.session, op, calm, now=NOW)
    db.session.commit()
    for minute in range(4):  # Lina: four skips over three minutes, and three in one minute
        _next_then_skip(op, agent, NOW + timedelta(minutes=minute, seconds=minute * 10),
                        limits=None)
    _next_then_skip(op, agent, NOW + timedelta(minutes=3, seconds=40), limits=None)
    later = NOW + timedelta(minutes=10)
    alerts = caller_alerts(db.session, op.id, LIMITS, now=later, skip_alert=4)
    assert {(a.name.split()[0], a.kind, a.count) for a in alerts} == {
        ("Lina", "skips", 5), ("Lina", "limit", 5)}
    assert [a.minutes for a in alerts if a.kind == "skips"] == [4]
    assert caller_alerts(db.session, op.id, LIMITS, now=later, skip_alert=6) == [
        a for a in alerts if a.kind == "limit"]
    # An hour later, all is quiet again.
    assert caller_alerts(db.session, op.id, LIMITS, now=later + timedelta(hours=1)) == []
