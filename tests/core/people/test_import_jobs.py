"""Imports as jobs (ringround/people/jobs.py): a real `flask worker` killed with kill -9 in
the middle of a 200,000-row import, on SQLite and PostgreSQL; the sweep resumes it and no
contact is created twice or lost. And an import interrupted too often is marked failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from ringround.background import huey
from ringround.extensions import db
from ringround.models import Contact, ContactPhone, ImportJob, ImportStatus, utcnow
from ringround.people import jobs
from tests import factories
from tests.conftest import TEST_SECRET
from tests.core.people.conftest import FIXTURES, said

ROOT = Path(__file__).resolve().parents[3]
ROWS = 200_000


@pytest.fixture
def app_overrides(tmp_path):
    return {"JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}", "JOBS_IMMEDIATE": False,
            "IMPORT_STALE_SECONDS": 2}


def _write_contacts(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("First name,Phone\n")
        handle.writelines(f"P{i},+33 6{i:08d}\n" for i in range(rows))


def _start_worker(app, tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, SECRET_KEY=TEST_SECRET, PYTHONUNBUFFERED="1",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               INSTANCE_PATH=app.instance_path, JOB_QUEUE_URL=app.config["JOB_QUEUE_URL"],
               IMPORT_STALE_SECONDS="2",
               # Checkpoints often, so that a kill lands mid-import even on a quick machine.
               IMPORT_COMMIT_SECONDS="0.3")
    env.pop("JOBS_IMMEDIATE", None)
    log = (tmp_path / "worker.log").open("a")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "-w", "1",
                             "--no-periodic"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def _job(job_id: int) -> ImportJob:
    db.session.rollback()
    return db.session.get(ImportJob, job_id, populate_existing=True)


def _wait(job_id: int, done, timeout: float, worker: subprocess.Popen, tmp_path: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(job_id)
        if done(job):
            return job
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        time.sleep(0.05)
    raise AssertionError(f"import {job_id}: {job.status} {job.processed_rows} rows\n"
                         + (tmp_path / "worker.log").read_text()[-3000:])


def _counts(org_id: int) -> tuple[int, int, int]:
    db.session.rollback()
    contacts = db.session.scalar(select(func.count()).select_from(Contact).where(
        Contact.organization_id == org_id))
    phones = db.session.scalar(select(func.count()).select_from(ContactPhone).where(
        ContactPhone.organization_id == org_id))
    numbers = db.session.scalar(select(func.count(func.distinct(ContactPhone.e164))).where(
        ContactPhone.organization_id == org_id))
    return contacts, phones, numbers


def test_kill_9_in_the_middle_of_an_import_resumes_it_without_duplicates(any_app, tmp_path):
    org, _ = factories.org_with_admin()  # (not the fixture: it would bring the SQLite app)
    source = tmp_path / "big.csv"
    _write_contacts(source, ROWS)
    result = any_app.test_cli_runner().invoke(args=[
        "contacts", "import", str(source), "--org", org.slug, "--no-wait"])
    assert result.exit_code == 0, result.output
    assert "queued" in result.output and len(huey) == 1
    job_id = db.session.scalar(select(ImportJob.id))

    worker = _start_worker(any_app, tmp_path)
    try:
        job = _wait(job_id, lambda j: j.processed_rows >= 10_000, 300, worker, tmp_path)
        assert job.status is ImportStatus.RUNNING and job.processed_rows < ROWS
        children = psutil.Process(worker.pid).children(recursive=True)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # The import's parsing processes notice and end (none left waiting for ever).
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, alive
    job = _job(job_id)
    assert job.status is ImportStatus.RUNNING  # as the dead worker left it
    contacts, _phones, _numbers = _counts(org.id)
    assert contacts == job.checkpoint["rows"] == job.processed_rows  # committed together

    time.sleep(2.5)  # its heartbeat (updated_at) goes stale
    jobs.sweep_imports.call_local()  # the periodic sweep (here, rather than wait a minute)
    assert _job(job_id).status is ImportStatus.QUEUED
    worker = _start_worker(any_app, tmp_path)
    try:
        job = _wait(job_id, lambda j: j.status in jobs.FINISHED, 600, worker, tmp_path)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
    assert job.status is ImportStatus.DONE, job.message
    assert job.attempts == 2
    assert job.summary["created"] == ROWS and job.summary["rows"] == ROWS
    assert _counts(org.id) == (ROWS, ROWS, ROWS)


def test_an_import_interrupted_too_often_fails_clearly_and_runs_again_without_duplicates(
        app, tmp_path):
    app.config["JOBS_IMMEDIATE"] = True
    huey._immediate = True
    org, _ = factories.org_with_admin()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contacts", "import", str(FIXTURES / "se_tabs_bom.csv"),
                                 "--org", org.slug, "--default-region", "SE"])
    first = _counts(org.id)
    assert first[0] > 0, result.output
    job = db.session.scalar(select(ImportJob))
    # As if its worker had been killed three times: running, stale, three attempts.
    job.status, job.attempts = ImportStatus.RUNNING, jobs.MAX_ATTEMPTS
    job.updated_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    jobs.resume_interrupted(db.session)
    job = _job(job.id)
    assert job.status is ImportStatus.FAILED
    assert "interrupted 3 times" in said(job.message)
    assert "Upload the file again" in said(job.message)

    result = runner.invoke(args=["contacts", "import", str(FIXTURES / "se_tabs_bom.csv"),
                                 "--org", org.slug, "--default-region", "SE"])
    assert "created: 0" in result.output, result.output
    assert _counts(org.id) == first


def test_the_cli_waits_for_a_worker_and_shows_its_progress(app, tmp_path):
    org, _ = factories.org_with_admin()
    source = tmp_path / "people.csv"
    _write_contacts(source, 30_000)
    env = dict(os.environ, SECRET_KEY=TEST_SECRET, PYTHONUNBUFFERED="1",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               INSTANCE_PATH=app.instance_path, JOB_QUEUE_URL=app.config["JOB_QUEUE_URL"])
    env.pop("JOBS_IMMEDIATE", None)
    command = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "contacts", "import", str(source),
         "--org", org.slug], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        hint = ""
        while "Waiting for a worker" not in hint:  # no worker yet: it says how to start one
            line = command.stderr.readline()
            assert line, "the command ended without a worker"
            hint += line
        worker = _start_worker(app, tmp_path)
        output, errors = command.communicate(timeout=300)
    finally:
        if command.poll() is None:
            command.kill()
        if worker is not None:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=30)
    assert command.returncode == 0, errors
    assert "created: 30000" in output and "Report (rejected rows and remarks):" in output
    assert "Importing" in hint + errors  # the progress bar (its label only, off a terminal)
    assert _counts(org.id) == (30_000, 30_000, 30_000)
