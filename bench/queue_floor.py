"""What the database alone needs for a lease and a result, without the app's Python.

    python bench/queue_floor.py --backend sqlite|postgresql --targets N

Fills the same data as bench/queue.py, then times, on the driver's own connection (no
SQLAlchemy, no rules), each in its own transaction:
- a bare one-row UPDATE (the baseline of bench/queue.py, minus the app's layers): a real
  change of an unindexed value of a target set aside for it (SQLite does not write a row
  whose content did not change, so `SET attempts = attempts` would write nothing);
- the least a lease can be: one UPDATE that picks the best waiting target of one zone and
  leases it (FOR UPDATE SKIP LOCKED on PostgreSQL), RETURNING it;
- the least a result can be: INSERT the attempt, UPDATE the target (one statement on
  PostgreSQL, a data-modifying WITH, as the app does).
Prints ONE JSON line: backend, targets, update_ms, lease_ms, record_ms (medians) and
pair_over_update, the floor of bench/queue.py's "lease+record over a bare UPDATE" ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p not in ("", str(ROOT / "bench"))]
sys.path.insert(0, str(ROOT))


def _queue_bench():
    spec = importlib.util.spec_from_file_location("queue_bench", ROOT / "bench" / "queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 4)


def measure(driver, pg: bool, op_id: int, agent_id: int, ids: list[int], rounds: int) -> dict:
    """Median times of the three transactions, on a raw DBAPI connection."""
    mark = "%s" if pg else "?"
    stamp = (lambda d: d) if pg else (lambda d: d.replace(tzinfo=None).isoformat(" "))
    lock = " FOR UPDATE SKIP LOCKED" if pg else ""
    begin = "BEGIN" if pg else "BEGIN IMMEDIATE"
    cursor = driver.cursor()
    update_t, lease_t, record_t = [], [], []
    for k in range(rounds):
        started = time.perf_counter()
        if not pg:
            cursor.execute(begin)
        cursor.execute(f"UPDATE targets SET attempts = attempts + 1 WHERE id = {mark}",
                       (ids[k % len(ids)],))
        driver.commit()
        update_t.append(time.perf_counter() - started)

        now = datetime.now(UTC)
        started = time.perf_counter()
        if not pg:
            cursor.execute(begin)
        cursor.execute(
            f"UPDATE targets SET state = 'leased', leased_to_id = {mark}, leased_at = {mark}, "
            f"lease_expires_at = {mark}, reason = NULL WHERE id = (SELECT id FROM targets "
            f"WHERE operation_id = {mark} AND state = 'waiting' AND time_zone = {mark} "
            f"AND next_eligible_at <= {mark} ORDER BY attempts, last_attempt_at, id "
            f"LIMIT 1{lock}) RETURNING id, contact_id",
            (agent_id, stamp(now), stamp(now + timedelta(minutes=20)), op_id,
             "America/Chicago", stamp(now)))
        target_id, contact_id = cursor.fetchone()
        driver.commit()
        lease_t.append(time.perf_counter() - started)

        started = time.perf_counter()
        attempt = (uuid.uuid4().hex, op_id, target_id, contact_id, agent_id, "own_phone", "{}",
                   "{}", stamp(now), '{"result": {}}', "talked", "contacted", stamp(now))
        insert = ("INSERT INTO attempts (client_id, operation_id, target_id, contact_id, "
                  "agent_id, method, answers, field_updates, created_at, outcome, disposition, "
                  f"disposition_group, recorded_at) VALUES ({', '.join([mark] * 13)})")
        finish = ("UPDATE targets SET state = 'done', reason = 'talked', "
                  f"attempts = attempts + 1, last_attempt_at = {mark}, leased_to_id = NULL, "
                  f"leased_at = NULL, lease_expires_at = NULL WHERE id = {mark}")
        if pg:
            cursor.execute(f"WITH new_attempt AS ({insert} RETURNING id) {finish}",
                           (*attempt, stamp(now), target_id))
        else:
            cursor.execute(begin)
            cursor.execute(insert, attempt)
            cursor.execute(finish, (stamp(now), target_id))
        driver.commit()
        record_t.append(time.perf_counter() - started)
    update, lease, record = _median_ms(update_t), _median_ms(lease_t), _median_ms(record_t)
    return {"update_ms": update, "lease_ms": lease, "record_ms": record,
            "pair_over_update": round((lease + record) / update, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    from ringround.extensions import db
    from ringround.throwaway_postgres import benchmark_database

    bench = _queue_bench()
    scratch = tempfile.mkdtemp(prefix="ringround-floor-")
    server = None
    try:
        url, server = benchmark_database(args.backend, scratch, "floor")
        app = bench.make_app(url, 1, tempfile.mkdtemp(prefix="ringround-floor-instance-"))
        op_id, agent_ids = bench.fill(app, args.targets)
        with app.app_context():
            ids = [row[0] for row in db.session.execute(db.text(
                "SELECT id FROM targets ORDER BY id DESC LIMIT 300"))]
            db.session.commit()
            raw = db.engine.raw_connection()
            try:
                driver = raw.driver_connection
                pg = args.backend == "postgresql"
                if not pg:
                    driver.isolation_level = None  # explicit BEGIN IMMEDIATE / COMMIT
                result = measure(driver, pg, op_id, agent_ids[0], ids,
                                 min(args.rounds, args.targets // 2))
            finally:
                raw.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"backend": args.backend, "targets": args.targets, **result}))


if __name__ == "__main__":
    main()
