"""Why targets are not callable, counted: the dashboard's and the caller app's figures."""

from datetime import timedelta

from ringround.extensions import db
from ringround.queue import (
    REASONS,
    ResultIn,
    blocked_counts,
    lease_next,
    next_callable_at,
    record_result,
    release_target,
)
from tests.core.queue.conftest import NOW


def test_every_reason_is_counted(any_world):
    world = any_world
    people = {name: world.contact(name) for name in (
        "Leased", "Cooldown", "CallBack", "Skipped", "Done", "Removed", "UsedUp", "Ready")}
    people["LA"] = world.contact("LA", "America/Los_Angeles")
    people["NoNumber"] = world.contact("NoNumber", phones=0)
    people["OptedOut"] = world.contact("OptedOut", do_not_contact=True)
    op = world.operation(list(people.values()), retry_rules={
        "no_answer": {"retries": 1, "interval_minutes": 60},
        "call_back": {"retries": 1, "interval_minutes": 60}})
    agent = world.agent(operation=op)
    # 15:00 UTC: 08:00 in Los Angeles, outside the window there.
    now = NOW.replace(hour=15)
    targets = {t.contact_id: t.id for t in op_targets(op)}

    def record(name, code, **extra):
        result = ResultIn(f"{name}-{code}-{len(extra)}", op.id, targets[people[name].id],
                          agent.id, code, **extra)
        return record_result(db.session, result, now=now)

    record("Cooldown", "no_answer")
    record("CallBack", "call_back", callback_at=now + timedelta(days=1))
    record("Done", "talked")
    record("Removed", "refused")
    record("UsedUp", "no_answer")
    record("UsedUp", "no_answer", notes="again")
    db.session.commit()
    skip = lease_next(db.session, op, agent, now=now)
    assert release_target(db.session, skip.target_id, agent, "skip", now=now)
    db.session.commit()
    lease_next(db.session, op, agent, now=now)
    db.session.commit()
    counts = blocked_counts(db.session, op, now=now)
    assert set(REASONS) <= set(counts)
    expected = {"leased": 1, "cooldown": 1, "call_back_later": 1, "skipped": 1, "done": 1,
                "removed": 1, "attempts_used_up": 1, "outside_hours": 1, "no_number": 1,
                "opted_out": 1, "ready": 1, "called_recently": 0}
    assert {k: counts[k] for k in expected} == expected
    assert counts["total"] == len(people)
    assert next_callable_at(db.session, op, now=now) == now


def op_targets(op):
    from ringround.models import Target

    return db.session.query(Target).filter_by(operation_id=op.id).all()


def test_next_callable_at_when_everybody_waits(world):
    person = world.contact()
    op = world.operation([person])
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW)
    record_result(db.session, ResultIn("n1", op.id, lease.target_id, agent.id, "no_answer"),
                  now=NOW)
    db.session.commit()
    assert next_callable_at(db.session, op, now=NOW) == NOW + timedelta(minutes=90)
    record_result(db.session, ResultIn("n2", op.id, lease.target_id, agent.id, "talked"),
                  now=NOW)
    db.session.commit()
    assert next_callable_at(db.session, op, now=NOW) is None
