"""Callers for the concurrency tests, importable by spawned processes."""

from __future__ import annotations

import threading
import time
import uuid

# Each lease is followed by this pause (the call itself, very short): callers that start a
# few milliseconds late still find people left, so the runs really overlap.
CALL_SECONDS = 0.005


def call_until_empty(app, operation_id: int, agent_id: int, batch: int = 1,
                     after_first=None) -> list[tuple]:
    """Lease (one at a time or in batches) until nothing is left; record a result for every
    other lease. Returns (target_id, agent_id) for every lease obtained. `after_first` is
    called once the first lease is committed (a barrier: every caller is really calling
    before any goes on, however late its process or thread started)."""
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
            if after_first is not None:
                after_first()
                after_first = None
            if not leases:
                break
            time.sleep(CALL_SECONDS)
            for lease in leases:
                got.append((lease.target_id, agent_id))
                if len(got) % 2:
                    record_result(session, ResultIn(uuid.uuid4().hex, operation_id,
                                                    lease.target_id, agent_id, "talked"))
                    session.commit()
        session.remove()
    return got


def threaded_callers(app, operation_id: int, agent_ids: list[int], batch: int = 1,
                     after_first=None) -> list:
    """One thread per agent, all starting together; none goes past its first lease before
    all have one (`after_first`: a barrier across processes, else one across these threads)."""
    results: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(agent_ids))
    if after_first is None:
        after_first = threading.Barrier(len(agent_ids), timeout=120).wait
    errors: list = []

    def run(agent_id):
        try:
            barrier.wait()
            got = call_until_empty(app, operation_id, agent_id, batch, after_first)
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
                 agent_ids: list[int], batch: int, barrier=None, after_first=None) -> list:
    """A process of several threaded callers, on its own app and engine; all processes
    start calling together (`barrier`), and every caller of every process holds a lease
    before any goes on (`after_first`, a barrier of all their callers)."""
    from sqlalchemy import text

    from ringround import create_app
    from ringround.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": len(agent_ids) + 2}},
                     instance_path=instance)
    with app.app_context():  # connect before the start, as the others do
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    if barrier is not None:
        barrier.wait()
    return threaded_callers(app, operation_id, agent_ids, batch,
                            after_first.wait if after_first is not None else None)
