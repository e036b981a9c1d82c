"""The job queue on Redis: a real redis-server and a real `flask worker` run an import and
the heartbeat; several workers may share it (docs/deployment.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from huey.storage import RedisStorage
from sqlalchemy import func, select

from ringround import background
from ringround.background import huey, worker_last_seen
from ringround.extensions import db
from ringround.models import Contact, ImportJob, ImportStatus
from tests import factories
from tests.conftest import TEST_SECRET
from tests.core.people.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_overrides(redis_url):
    return {"JOB_QUEUE_URL": redis_url, "JOBS_IMMEDIATE": False}


def _worker(app, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, SECRET_KEY=TEST_SECRET, PYTHONUNBUFFERED="1",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               INSTANCE_PATH=app.instance_path, JOB_QUEUE_URL=app.config["JOB_QUEUE_URL"])
    env.pop("JOBS_IMMEDIATE", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker",
                             "-w", "1", *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_two_workers_on_redis_run_an_import_and_the_heartbeat(app):
    assert isinstance(huey.storage, RedisStorage)
    org, _ = factories.org_with_admin()
    result = app.test_cli_runner().invoke(args=[
        "contacts", "import", str(FIXTURES / "se_tabs_bom.csv"), "--org", org.slug,
        "--default-region", "SE", "--no-wait"])
    assert result.exit_code == 0, result.output
    background.heartbeat()
    assert len(huey) == 2 and worker_last_seen() is None
    workers = [_worker(app), _worker(app, "--no-periodic")]
    lines: list[list[str]] = [[], []]
    readers = [threading.Thread(target=lambda w=w, out=out: out.extend(w.stdout), daemon=True)
               for w, out in zip(workers, lines, strict=True)]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.rollback()
            # Both workers up (a slow start must not meet the SIGINT), the import done and
            # the heartbeat seen.
            started = all(any(line.startswith("Worker:") for line in out) for out in lines)
            if started and db.session.scalar(select(ImportJob.status)) is ImportStatus.DONE \
                    and worker_last_seen() is not None:
                break
            time.sleep(0.2)
        # (The queue need not be empty: the periodic worker queues the minute's jobs too.)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=10)
        outputs = ["".join(out) for out in lines]
    assert worker_last_seen() is not None, outputs
    assert db.session.scalar(select(ImportJob.status)) is ImportStatus.DONE, outputs
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 4
    assert all("RedisStorage" in output for output in outputs)
    assert all(worker.returncode == 0 for worker in workers), outputs
