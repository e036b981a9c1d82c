"""Dashboard benchmark: the figures an operation's dashboard polls every 10 seconds.

    python bench/operation_dashboard.py --backend sqlite|postgresql --targets N --calls M

Fills one operation with N targets (a share done and removed) and M recorded calls with
answers to the survey template, then times `operation_figures` (what the htmx poll renders),
`organization_progress` (the overview) and `results_csv` (the audited export).
PostgreSQL uses $PG_URL when set, else a throwaway server in a temporary directory.
Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

# bench/queue.py is named like the standard library's `queue`: keep bench/ off the path.
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _here)]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402


def fill(session, pg: bool, n_targets: int, n_calls: int) -> int:
    from ringround import operations as ops
    from ringround.accounts import create_organization
    from ringround.models import User
    from ringround.queue import materialize_targets

    admin = User(display_name="Bench admin", email=f"{uuid.uuid4().hex}@example.org")
    agents = [User(display_name=f"Caller {k}", phone_e164=f"+1999{k:07d}") for k in range(20)]
    session.add_all([admin, *agents])
    session.flush()
    org = create_organization(session, name=f"Bench {uuid.uuid4().hex[:8]}", admin=admin)
    op = ops.create_draft(session, org.id, admin, "Bench")
    ops.apply_template(session, op, "survey")
    session.flush()
    series = ("SELECT g AS i FROM generate_series(1, :n) AS g" if pg else
              "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
              "SELECT i FROM s")
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    base = session.execute(text("SELECT coalesce(max(id), 0) FROM contacts")).scalar()
    session.execute(text(
        "INSERT INTO contacts (id, organization_id, first_name, time_zone, custom, "
        f"do_not_contact, created_at, updated_at) SELECT :base + i, :org, 'Person', "
        f"'America/New_York', '{{}}', {'false' if pg else '0'}, {now}, {now} "
        f"FROM ({series}) AS s"), {"base": base, "org": org.id, "n": n_targets})
    session.execute(text(
        "INSERT INTO contact_phones (organization_id, contact_id, e164, label, is_mobile, "
        "position, status) SELECT :org, :base + i, '+1' || CAST(3000000000 + :base + i AS "
        f"TEXT), 'mobile', {'true' if pg else '1'}, 0, 'ok' FROM ({series}) AS s"),
        {"base": base, "org": org.id, "n": n_targets})
    if pg:
        session.execute(text("SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
                             "(SELECT max(id) FROM contacts))"))
    op.source_filter = {}
    materialize_targets(session, op, contact_ids=None)
    # A third done, a tenth removed.
    session.execute(text("UPDATE targets SET state = CASE WHEN id % 3 = 0 THEN 'done' "
                         "WHEN id % 10 = 1 THEN 'removed' ELSE state END "
                         "WHERE operation_id = :op"), {"op": op.id})
    answers = ("'{\"q1\": ' || CAST((i % 5) + 1 AS TEXT) || ', \"q2\": \"' || "
               "CASE i % 4 WHEN 0 THEN 'housing' WHEN 1 THEN 'wages' WHEN 2 THEN 'health' "
               "ELSE 'other' END || '\", \"q3\": \"fine\"}'")
    if pg:
        answers = f"CAST({answers} AS JSON)"
    first_agent = agents[0].id
    session.execute(text(
        "INSERT INTO attempts (client_id, operation_id, target_id, contact_id, agent_id, "
        "method, disposition, disposition_group, answers, field_updates, outcome, created_at, "
        "recorded_at) "
        f"SELECT 'b' || CAST(i AS TEXT) || :tag, :op, NULL, :base + 1 + (i % :n), "
        f":agent + (i % 20), 'own_phone', CASE WHEN i % 2 = 0 THEN 'talked' ELSE 'no_answer' "
        f"END, CASE WHEN i % 2 = 0 THEN 'contacted' ELSE 'no_contact' END, {answers}, '{{}}', "
        f"'{{}}', {now}, {now} FROM ({series.replace(':n', ':calls')}) AS s"),
        {"op": op.id, "base": base, "n": n_targets, "calls": n_calls, "agent": first_agent,
         "tag": uuid.uuid4().hex[:6]})
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    return op.id


def timed(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from ringround.throwaway_postgres import benchmark_database

    instance = tempfile.mkdtemp(prefix="ringround-bench-")
    url, server = benchmark_database(args.backend, instance, "dashboard")
    try:
        from ringround import create_app
        from ringround.extensions import db
        from ringround.models import Operation, User
        from ringround.operation_stats import (
            operation_figures,
            organization_progress,
            results_csv,
        )

        app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url},
                         instance_path=instance)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            op_id = fill(db.session, db.engine.dialect.name == "postgresql", args.targets,
                         args.calls)
            fill_s = round(time.perf_counter() - started, 1)
            op = db.session.get(Operation, op_id)
            actor = db.session.scalar(db.select(User).where(User.email.is_not(None)))
            figures = operation_figures(db.session, op)
            result = {
                "backend": args.backend, "targets": args.targets, "calls": args.calls,
                "figures_ms": timed(lambda: operation_figures(db.session, op), args.rounds),
                "figures_polled_ms": timed(
                    lambda: operation_figures(db.session, op, max_age=60), args.rounds),
                "overview_ms": timed(
                    lambda: organization_progress(db.session, op.organization_id), args.rounds),
                "export_ms": timed(lambda: results_csv(db.session, op, actor), 1),
                "check_targets": figures.targets, "check_calls": figures.calls_total,
                "fill_s": fill_s, "load_avg": round(os.getloadavg()[0], 2),
            }
            db.session.rollback()
        print(json.dumps(result))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
