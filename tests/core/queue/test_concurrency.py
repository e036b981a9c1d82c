"""No target is ever leased to two agents at once: many threads and processes, both backends."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import time

import pytest

from ringround.extensions import db
from ringround.models import Operation, OperationMember, OperationRole, OperationState, User
from ringround.queue import materialize_targets
from tests.conftest import TEST_SECRET
from tests.core.queue.concurrent_callers import process_main, threaded_callers

N_TARGETS = 240


def setup_operation(app, n_agents: int) -> tuple[int, list[int]]:
    """An all-day operation with N_TARGETS people and `n_agents` agents (no clock needed)."""
    from tests import factories
    from tests.core.queue.conftest import QueueWorld

    world = QueueWorld(factories)
    people = [world.contact(f"P{i}", time_zone=("America/New_York", "Europe/Paris",
                                                "Asia/Tokyo")[i % 3])
              for i in range(N_TARGETS)]
    op = Operation(organization_id=world.org.id, name="Rush", state=OperationState.ACTIVE,
                   window_start=time(0, 0), window_end=time(0, 0))
    db.session.add(op)
    db.session.commit()
    materialize_targets(db.session, op, [p.id for p in people])
    agents = [User(display_name=f"Caller {i}", phone_e164=f"+1555000{i:04d}")
              for i in range(n_agents)]
    db.session.add_all(agents)
    db.session.flush()
    db.session.add_all(OperationMember(operation_id=op.id, user_id=a.id,
                                       role=OperationRole.AGENT) for a in agents)
    db.session.commit()
    return op.id, [a.id for a in agents]


def assert_no_double_lease(leases: list[tuple[int, int]]) -> None:
    counts = Counter(target_id for target_id, _agent in leases)
    doubles = {t: n for t, n in counts.items() if n > 1}
    assert doubles == {}
    assert len(counts) == N_TARGETS  # and everybody was handed out


def run_processes(url, tmp_path, op_id, agent_ids, processes, batch):
    ctx = multiprocessing.get_context("spawn")
    chunks = [agent_ids[i::processes] for i in range(processes)]
    with ctx.Manager() as manager, ctx.Pool(processes) as pool:
        barrier = manager.Barrier(processes)
        first_leases = manager.Barrier(len(agent_ids), timeout=120)
        parts = pool.starmap(process_main, [
            (url, str(tmp_path / f"instance{i}"), TEST_SECRET, op_id, chunk, batch, barrier,
             first_leases)
            for i, chunk in enumerate(chunks)])
    assert all(parts), "every process got some targets: they really ran side by side"
    return [lease for part in parts for lease in part]


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 40, "max_overflow": 10}}


@pytest.mark.parametrize("batch", [1, 7])
def test_many_threads_never_share_a_target_on_sqlite(app, batch):
    op_id, agents = setup_operation(app, 16)
    db.session.remove()
    assert_no_double_lease(threaded_callers(app, op_id, agents, batch))


def test_many_processes_never_share_a_target_on_sqlite(app, tmp_path):
    op_id, agents = setup_operation(app, 12)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    assert_no_double_lease(run_processes(url, tmp_path, op_id, agents, 4, batch=1))


@pytest.mark.postgres
@pytest.mark.parametrize("batch", [1, 7])
def test_many_threads_never_share_a_target_on_postgresql(pg_app, batch):
    op_id, agents = setup_operation(pg_app, 32)
    db.session.remove()
    assert_no_double_lease(threaded_callers(pg_app, op_id, agents, batch))


@pytest.mark.postgres
def test_many_processes_never_share_a_target_on_postgresql(pg_app, tmp_path):
    op_id, agents = setup_operation(pg_app, 16)
    url = pg_app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    assert_no_double_lease(run_processes(url, tmp_path, op_id, agents, 4, batch=3))


def resend_race(app, n_threads: int = 8) -> list:
    """The same result sent by several threads at once (a flaky network's retries)."""
    import threading

    from ringround.models import Target
    from ringround.queue import ResultIn, lease_next, record_result

    op_id, agents = setup_operation_small(app)
    with app.app_context():
        operation = db.session.get(Operation, op_id)
        agent = db.session.get(User, agents[0])
        lease = lease_next(db.session, operation, agent)
        db.session.commit()
        target_id = lease.target_id
    db.session.remove()
    barrier = threading.Barrier(n_threads)
    outcomes, errors = [], []

    def send():
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(record_result(db.session, ResultIn(
                    "same-result", op_id, target_id, agents[0], "no_answer")))
                db.session.commit()
            except Exception as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert db.session.get(Target, target_id).attempts == 1
    return outcomes


def setup_operation_small(app):
    global N_TARGETS
    saved, N_TARGETS = N_TARGETS, 3
    try:
        return setup_operation(app, 1)
    finally:
        N_TARGETS = saved


def test_simultaneous_resends_count_once_on_sqlite(app):
    outcomes = resend_race(app)
    assert sorted(o.duplicate for o in outcomes) == [False] + [True] * 7


@pytest.mark.postgres
def test_simultaneous_resends_count_once_on_postgresql(pg_app):
    outcomes = resend_race(pg_app)
    assert sorted(o.duplicate for o in outcomes) == [False] + [True] * 7
