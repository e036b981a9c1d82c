"""Kill -9 the worker while texts are queued (#15): every text is sent exactly once or marked
failed. A real `flask worker` process (tests/telephony/fake_twilio_worker.py: the Twilio
API it talks to logs each text it accepts), on SQLite and on PostgreSQL; the queue is Huey's
SQLite file in both cases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from ringround.config import TelephonySettings
from ringround.extensions import db
from ringround.models import Message
from tests.conftest import TEST_SECRET, make_app
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN, PUBLIC

ROOT = Path(__file__).resolve().parents[2]
TEXTS = 120
AFTERNOON = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def _env(tmp_path: Path, database_url: str, log: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": CAMPAIGN, "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_TEXTS_PER_SECOND": "200",
        "TELEPHONY_RECONCILE_MINUTES": "0.02",  # texts left unfinished: asked after ~1 s
        "FAKE_TWILIO_LOG": str(log), "PYTHONUNBUFFERED": "1",
    })
    env.pop("JOBS_IMMEDIATE", None)
    return env


def _worker(env: dict[str, str], out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.telephony.fake_twilio_worker", "-w", "4"],
        cwd=ROOT, env=env, stdout=out.open("a"), stderr=subprocess.STDOUT)


def _accepted(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _statuses() -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(select(Message.status)).all())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.sqlite'}"
    from tests.conftest import _pg_counter

    return request.getfixturevalue("postgres_server").create_database(
        f"kill{next(_pg_counter)}")


def test_kill_9_while_texts_are_queued_sends_each_once_or_marks_it_failed(
        tmp_path, database_url):
    from sms.outbound import send_text
    from sms.reconcile import reconcile_telephony
    from tests import factories

    log, out = tmp_path / "twilio.log", tmp_path / "worker.out"
    env = _env(tmp_path, database_url, log)
    app = make_app(database_url, env["INSTANCE_PATH"], JOB_QUEUE_URL=env["JOB_QUEUE_URL"],
                   JOBS_IMMEDIATE=False, PUBLIC_BASE_URL=PUBLIC,
                   TELEPHONY=TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN),
                   TELEPHONY_RECONCILE_MINUTES=0.02)
    with app.app_context():
        org, _ = factories.org_with_admin()
        org.campaign_number = CAMPAIGN
        db.session.commit()
        for i in range(TEXTS):
            send_text(db.session, org, f"+1617555{i:04d}", f"text {i}", kind="test",
                      now=AFTERNOON)
        db.session.commit()  # 120 jobs wait in the queue

        worker = _worker(env, out)
        deadline = time.monotonic() + 60
        while len(_accepted(log)) < TEXTS // 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)  # mid-way, jobs running
        worker.wait(10)
        at_kill = len(_accepted(log))
        assert 0 < at_kill < TEXTS, out.read_text()

        worker = _worker(env, out)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                left = {s: n for s, n in _statuses().items() if s not in ("sent", "failed")}
                if not left:
                    break
                time.sleep(1.5)
                reconcile_telephony()  # what the worker's every-minute schedule does
            assert not left, (left, out.read_text()[-3000:])
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(30)

        accepted = Counter(entry["body"] for entry in _accepted(log))
        db.session.rollback()
        messages = db.session.scalars(select(Message)).all()
        assert len(messages) == TEXTS
        by_sid = {entry["sid"]: entry["body"] for entry in _accepted(log)}
        for message in messages:
            if message.status == "sent":  # exactly once, and the SID is the one it got
                assert accepted[message.body] == 1, message.body
                assert by_sid[message.sid] == message.body
            else:  # failed: cut while handed over; never sent twice
                assert accepted[message.body] <= 1, message.body
        assert max(accepted.values()) == 1
        sent = sum(m.status == "sent" for m in messages)
        assert sent >= TEXTS - 8  # only those handed over at the kill may be lost (4 threads)
        print(f"\n{database_url.split(':')[0]}: {at_kill} accepted at the kill, {sent} sent, "
              f"{TEXTS - sent} marked failed")
        db.session.remove()
        db.engine.dispose()
