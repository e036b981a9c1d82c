"""Queue benchmark: fill N targets, run W concurrent callers doing lease -> record result.

    python bench/queue.py --backend sqlite|postgresql --targets N --workers W [--seconds S]

PostgreSQL uses $PG_URL when set (a fresh schema is created in it), else a throwaway server
in a temporary directory. Prints ONE JSON line: backend, targets, workers, lease_p50_ms,
lease_p99_ms, record_p50_ms, record_p99_ms, ops_per_s, double_leases, baseline_update_ms,
pair_over_baseline (and a few extras: fill_s, ops, load_avg).

The baseline is a bare one-row UPDATE and its commit, through the same Session, measured by
the callers themselves between their leases and results (so it sees the same load, caches and
contention). It changes a real value: SQLite skips writing a row whose new content equals the
old one, so `SET attempts = attempts` writes no page at all and would not be a write. It
updates targets set aside for it (removed, so the queue never offers them), in an unindexed
way: the least an UPDATE of that table can cost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import time as clock
from pathlib import Path

# This file is named like the standard library's `queue`: keep bench/ off the import path.
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles")
BASELINE_ROWS = 300
BASELINE_EVERY = 4  # a caller times one baseline UPDATE every this many lease/result pairs
BASELINE_SQL = text("UPDATE targets SET attempts = attempts + 1 WHERE id = :id")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def make_app(url: str, workers: int, instance: str):
    from ringround import create_app
    from ringround.extensions import db

    options = {"pool_pre_ping": False}
    if not url.startswith("sqlite"):
        options.update(pool_size=workers + 4, max_overflow=8)
    else:
        options.update(pool_size=workers + 4, max_overflow=8, connect_args={"timeout": 60})
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SQLALCHEMY_ENGINE_OPTIONS": options}, instance_path=instance)
    with app.app_context():
        db.create_all()
    return app


def fill(app, n: int, callers: int = 256):
    """One organization, one active all-day operation, N contacts with a phone each, spread
    over three time zones, one in 200 opted out; targets materialized by the queue itself."""
    from ringround.accounts import create_organization
    from ringround.extensions import db
    from ringround.models import Operation, OperationMember, OperationRole, OperationState, User
    from ringround.queue import materialize_targets

    with app.app_context():
        session = db.session
        admin = User(display_name="Bench admin", email=f"{uuid.uuid4().hex}@example.org")
        session.add(admin)
        session.flush()
        org = create_organization(session, name=f"Bench {uuid.uuid4().hex[:8]}", admin=admin)
        session.flush()
        org_id = org.id
        pg = db.engine.dialect.name == "postgresql"
        if pg:
            series = "SELECT g AS i FROM generate_series(1, :n) AS g"
        else:
            series = ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                      "WHERE i < :n) SELECT i FROM s")
        base = session.execute(text("SELECT coalesce(max(id), 0) FROM contacts")).scalar()
        zone_case = " ".join(f"WHEN {k} THEN '{z}'" for k, z in enumerate(ZONES))
        now_sql = "now()" if pg else "CURRENT_TIMESTAMP"
        false = "false" if pg else "0"
        session.execute(text(
            "INSERT INTO contacts (id, organization_id, first_name, time_zone, custom, "
            "do_not_contact, created_at, updated_at) "
            f"SELECT :base + i, :org, 'Person', CASE (i % 3) {zone_case} END, '{{}}', "
            f"{false}, {now_sql}, {now_sql} FROM ({series}) AS s"),
            {"base": base, "org": org_id, "n": n})
        session.execute(text(
            "INSERT INTO contact_phones (organization_id, contact_id, e164, label, is_mobile, "
            "position, status) "
            "SELECT :org, :base + i, '+1' || CAST(2000000000 + :base + i AS TEXT), 'mobile', "
            f"{'true' if pg else '1'}, 0, 'ok' FROM ({series}) AS s"),
            {"base": base, "org": org_id, "n": n})
        if pg:
            session.execute(text(
                "SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
                "(SELECT max(id) FROM contacts))"))
        # Like a real list, a few people (one in 200) texted STOP at some point.
        from ringround.models import OptOut
        from ringround.optouts import phone_hmac

        session.add_all(OptOut(organization_id=org_id, source="sms_stop",
                               phone_hmac=phone_hmac(f"+1{2000000000 + base + i}"))
                        for i in range(1, n + 1, 200))
        op = Operation(organization_id=org_id, name="Bench", state=OperationState.ACTIVE,
                       window_start=clock(0, 0), window_end=clock(0, 0))
        session.add(op)
        session.flush()
        session.commit()
        materialize_targets(session, op)  # every contact of the organization
        session.commit()
        # The baseline's own rows (see the module doc): removed, so never leased.
        session.execute(text(
            "UPDATE targets SET state = 'removed', reason = 'bench_baseline' WHERE id IN "
            "(SELECT id FROM targets WHERE operation_id = :op ORDER BY id DESC LIMIT :k)"),
            {"op": op.id, "k": BASELINE_ROWS})
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
        agents = []
        first_number = uuid.uuid4().int % 10**7  # distinct numbers, unlike any earlier fill's
        for w in range(callers):
            user = User(display_name=f"Caller {w}",
                        phone_e164=f"+1999{(first_number + w) % 10**8:08d}")
            session.add(user)
            agents.append(user)
        session.flush()
        for user in agents:
            session.add(OperationMember(operation_id=op.id, user_id=user.id,
                                        role=OperationRole.AGENT))
        session.commit()
        return op.id, [u.id for u in agents]


def baseline_rows(app, op_id: int) -> list[int]:
    from ringround.extensions import db

    with app.app_context():
        ids = [r[0] for r in db.session.execute(text(
            "SELECT id FROM targets WHERE operation_id = :op AND reason = 'bench_baseline'"),
            {"op": op_id})]
        db.session.commit()
    return ids


def timed_baseline_update(session, target_id: int) -> float:
    """A bare one-row UPDATE (a real change, no index touched) and its commit, in ms. On
    SQLite it takes the write lock first, as every writer of the app does (begin_write):
    otherwise, with several callers, it would wait in SQLite's busy handler's sleeps."""
    from ringround.queue._tx import begin_write

    started = time.perf_counter()
    begin_write(session)
    session.execute(BASELINE_SQL, {"id": target_id})
    session.commit()
    return (time.perf_counter() - started) * 1000


def worker(app, op_id: int, agent_id: int, deadline: float, out: dict, index: int,
           baseline_ids: list[int]):
    from ringround.extensions import db
    from ringround.models import Operation, User
    from ringround.queue import ResultIn, lease_next, record_result

    leases, records, log, cpu_leases, cpu_records, baselines = [], [], [], [], [], []
    with app.app_context():
        session = db.session
        op = session.get(Operation, op_id)
        agent = session.get(User, agent_id)
        k = 0
        while time.perf_counter() < deadline:
            started, cpu_started = time.perf_counter(), time.thread_time()
            lease = lease_next(session, op, agent)
            session.commit()
            leased, cpu_leased = time.perf_counter(), time.thread_time()
            if lease is None:
                break
            code = "no_answer" if k % 4 == 3 else "talked"
            k += 1
            record_result(session, ResultIn(f"b{index}-{k}-{uuid.uuid4().hex[:8]}", op_id,
                                            lease.target_id, agent_id, code))
            session.commit()
            done = time.perf_counter()
            cpu_records.append((time.thread_time() - cpu_leased) * 1000)
            cpu_leases.append((cpu_leased - cpu_started) * 1000)
            leases.append((leased - started) * 1000)
            records.append((done - leased) * 1000)
            log.append((lease.target_id, started, done))
            if k % BASELINE_EVERY == 0:
                row = baseline_ids[(index * 7919 + k) % len(baseline_ids)]
                baselines.append(timed_baseline_update(session, row))
        session.remove()
    out[index] = (leases, records, log, cpu_leases, cpu_records, baselines)


def double_leases(logs: list[list[tuple[int, float, float]]]) -> int:
    """Targets held by two workers at overlapping times (lease start to result commit)."""
    by_target: dict[int, list[tuple[float, float, int]]] = {}
    for w, log in enumerate(logs):
        for target_id, start, end in log:
            by_target.setdefault(target_id, []).append((start, end, w))
    doubles = 0
    for spans in by_target.values():
        spans.sort()
        for (_s1, e1, w1), (s2, _e2, w2) in zip(spans, spans[1:], strict=False):
            if w1 != w2 and s2 < e1:
                doubles += 1
                break
    return doubles


def run(url: str, backend: str, n: int, workers: int, seconds: float) -> dict:
    instance = tempfile.mkdtemp(prefix="ringround-bench-instance-")
    app = make_app(url, workers, instance)
    fill_started = time.perf_counter()
    op_id, agent_ids = fill(app, n)
    fill_s = time.perf_counter() - fill_started
    ids = baseline_rows(app, op_id)
    # Warm up (plans, caches) with a short single-caller run, not counted.
    warm: dict = {}
    worker(app, op_id, agent_ids[-1], time.perf_counter() + 1.0, warm, 0, ids)
    out: dict = {}
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=worker,
                                args=(app, op_id, agent_ids[i], deadline, out, i, ids))
               for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    leases = [v for r in out.values() for v in r[0]]
    records = [v for r in out.values() for v in r[1]]
    logs = [r[2] for r in out.values()] + [warm[0][2]]
    baseline = percentile([v for r in out.values() for v in r[5]], 50)
    lease_p50, record_p50 = percentile(leases, 50), percentile(records, 50)
    return {
        "backend": backend, "targets": n, "workers": workers,
        "lease_p50_ms": round(lease_p50, 3),
        "lease_p99_ms": round(percentile(leases, 99), 3),
        "record_p50_ms": round(record_p50, 3),
        "record_p99_ms": round(percentile(records, 99), 3),
        "ops_per_s": round(len(leases) / elapsed, 1) if elapsed else 0.0,
        "double_leases": double_leases(logs),
        "baseline_update_ms": round(baseline, 3),
        "pair_over_baseline": round((lease_p50 + record_p50) / baseline, 2) if baseline else None,
        "ops": len(leases), "fill_s": round(fill_s, 1),
        # CPU time of the calling thread (this process's share, load-independent-ish).
        "lease_cpu_p50_ms": round(percentile([v for r in out.values() for v in r[3]], 50), 3),
        "record_cpu_p50_ms": round(percentile([v for r in out.values() for v in r[4]], 50), 3),
        "load_avg": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args()
    from ringround.throwaway_postgres import benchmark_database

    server = None
    scratch = tempfile.mkdtemp(prefix="ringround-bench-")
    try:
        url, server = benchmark_database(args.backend, scratch, "bench")
        result = run(url, args.backend, args.targets, args.workers, args.seconds)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
