"""The job queue (ringround/background.py): jobs in their own app context, retries, the
dead-letter list, and a real `flask worker` process on the embedded SQLite storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage
from sqlalchemy import select

from ringround import background
from ringround.background import huey, job, run_again, storage_for, worker_last_seen
from ringround.models import AuditEntry, FailedJob

ROOT = Path(__file__).resolve().parents[2]
_calls: list[str] = []


@job()
def _write_audit(action: str) -> None:
    from ringround.extensions import db

    db.session.add(AuditEntry(action=action))


@job(retries=2)
def _fails_until_told(label: str) -> None:
    _calls.append(label)
    if "succeed" not in _calls:
        raise RuntimeError(f"provider down for {label}")


def test_a_job_runs_in_its_own_session_and_commits(app, db):
    _write_audit("job.ran")
    db.session.rollback()  # the test's session sees only what was committed elsewhere
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "job.ran"))


def test_a_job_that_keeps_failing_is_kept_and_can_run_again(app, db):
    _calls.clear()
    _fails_until_told("text-7")
    assert _calls == ["text-7"] * 3  # the first try and two retries
    failed = db.session.scalars(select(FailedJob)).one()
    assert failed.task_name.endswith("_fails_until_told")
    assert failed.args == ["text-7"]
    assert "RuntimeError: provider down for text-7" in failed.error

    _calls.append("succeed")
    run_again(db.session, failed)
    assert _calls[-1] == "text-7"
    assert failed.retried_at is not None
    with pytest.raises(ValueError, match="already run again"):
        run_again(db.session, failed)
    assert db.session.scalar(select(FailedJob).where(FailedJob.id != failed.id)) is None


@pytest.mark.parametrize(("url", "kind"), [
    ("", SqliteStorage), ("sqlite:////tmp/q.sqlite3", SqliteStorage),
    ("redis://localhost:6379/0", RedisStorage), ("postgresql://u@h/db", PostgresStorage),
    ("memory://", MemoryStorage)])
def test_queue_storage_follows_the_setting(tmp_path, url, kind):
    storage_class, kwargs = storage_for(url, tmp_path)
    assert storage_class is kind
    if url == "":
        assert kwargs == {"filename": str(tmp_path / "jobs.sqlite3")}


def test_an_unknown_queue_setting_is_refused_with_its_kind(tmp_path):
    with pytest.raises(ValueError, match="'amqp'"):
        storage_for("amqp://guest@localhost", tmp_path)


def _worker_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "SECRET_KEY": "worker-test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("JOBS_IMMEDIATE", None)
    return env


def test_flask_worker_runs_queued_and_periodic_jobs_and_stops_on_ctrl_c(tmp_path):
    from tests.conftest import make_app

    env = _worker_env(tmp_path)
    app = make_app(env["DATABASE_URL"], env["INSTANCE_PATH"],
                   JOB_QUEUE_URL=env["JOB_QUEUE_URL"], JOBS_IMMEDIATE=False)
    with app.app_context():
        assert worker_last_seen() is None
        background.heartbeat()  # enqueued in the SQLite queue: no worker yet
        assert len(huey) == 1 and worker_last_seen() is None
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "-w", "1"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            # (At a minute's turn the worker also queues the periodic jobs: wait for them.)
            while (worker_last_seen() is None or len(huey)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert worker_last_seen() is not None, "the worker ran no job"
        finally:
            worker.send_signal(signal.SIGINT)
            output, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0, output
        assert "SqliteStorage" in output
        assert "Executing ringround.background.heartbeat" in output


def test_the_worker_refuses_to_start_in_immediate_mode(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code != 0
    assert "JOBS_IMMEDIATE is set" in result.output
