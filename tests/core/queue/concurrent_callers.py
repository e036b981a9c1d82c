"""Callers for the concurrency tests, importable by spawned processes."""

from __future__ import annotations

import threading
import uuid


def call_until_empty(app, operation_id: int, agent_id: int, batch: int = 1) -> list[tuple]:
    """Lease (one at a time or in batches) until nothing is left; record a result for every
    other lease. Returns (target_id, agent_id) for every lease obtained."""
    from ringround.extensions import db
    from ringround.models import Operation, User
    from ringround.queue import ResultIn, lease_batch, lease_next, record_result

    got = []
    with app.app_context():
        session = db.session
        operation = session.get(Operation, operation_id)
        agent = session.get(User, agent_id)
        while True:
            if batch > 1:
                leases = lease_batch(session, operation, agent, batch)
            else:
                lease = lease_next(session, operation, agent, max_open=0)
                leases = [lease] if lease else []
            session.commit()
            if not leases:
                break
            for lease in leases:
                got.append((lease.target_id, agent_id))
                if len(got) % 2:
                    record_result(session, ResultIn(uuid.uuid4().hex, operation_id,
                                                    lease.target_id, agent_id, "talked"))
                    session.commit()
        session.remove()
    return got


def threaded_callers(app, operation_id: int, agent_ids: list[int], batch: int = 1) -> list:
    """One thread per agent, all starting together."""
    results: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(agent_ids))
    errors: list = []

    def run(agent_id):
        try:
            barrier.wait()
            got = call_until_empty(app, operation_id, agent_id, batch)
            with lock:
                results.extend(got)
        except Exception as error:  # surfaced to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(a,)) for a in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def process_main(url: str, instance: str, secret: str, operation_id: int,
                 agent_ids: list[int], batch: int, barrier=None) -> list:
    """A process of several threaded callers, on its own app and engine; all processes
    start calling together (`barrier`)."""
    from ringround import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": len(agent_ids) + 2}},
                     instance_path=instance)
    if barrier is not None:
        barrier.wait()
    return threaded_callers(app, operation_id, agent_ids, batch)
