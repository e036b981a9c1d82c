"""The bare baseline of bench/caller_http.py: the same database work as a result and the next
card, with nothing around it (no sign-in, no checks, no ORM, no templates).

POST /result {"target_id", "agent_id", "client_id"}: an UPDATE by key, an INSERT, a commit.
POST /next {"after"}: a SELECT of the next row by index.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
_url = os.environ["DATABASE_URL"]
engine = create_engine(_url, pool_size=4, max_overflow=4,
                       **({"connect_args": {"timeout": 60}} if _url.startswith("sqlite") else {}))
app.extensions["bench_engine"] = engine
OPERATION = int(os.environ["BENCH_OPERATION"])
SQLITE = _url.startswith("sqlite")


def _now():
    now = datetime.now(UTC)
    return now.replace(tzinfo=None).isoformat(" ", "microseconds") if SQLITE else now


@app.post("/result")
def result():
    body = request.get_json()
    with engine.connect() as connection:
        if SQLITE:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.execute(text(
            "UPDATE targets SET attempts = attempts + 1, last_attempt_at = :now "
            "WHERE id = :id"), {"now": _now(), "id": body["target_id"]})
        connection.execute(text(
            "INSERT INTO attempts (client_id, operation_id, target_id, agent_id, method, "
            "disposition, disposition_group, answers, field_updates, outcome, created_at, "
            "recorded_at) VALUES (:client_id, :op, :target, :agent, 'own_phone', 'no_answer', "
            "'no_contact', '{}', '{}', '{}', :now, :now)"),
            {"client_id": body["client_id"], "op": OPERATION, "target": body["target_id"],
             "agent": body["agent_id"], "now": _now()})
        connection.commit()
    return jsonify(ok=True)


@app.post("/next")
def next_row():
    body = request.get_json()
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT id, contact_id, time_zone FROM targets WHERE operation_id = :op "
            "AND id > :after ORDER BY id LIMIT 1"),
            {"op": OPERATION, "after": body.get("after", 0)}).first()
        connection.rollback()
    return jsonify(lease={"target_id": row.id} if row else None)
