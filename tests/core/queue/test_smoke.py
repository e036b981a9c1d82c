from ringround.extensions import db
from ringround.queue import ResultIn, blocked_counts, lease_next, record_result
from tests.core.queue.conftest import NOW


def test_lease_and_record(any_world):
    world = any_world
    people = [world.contact(f"P{i}") for i in range(3)]
    op = world.operation(people)
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    assert lease is not None
    out = record_result(db.session, ResultIn("c1", op.id, lease.target_id, agent.id, "talked"),
                        now=NOW)
    db.session.commit()
    assert out.target_state == "done"
    print(blocked_counts(db.session, op, now=NOW))
