"""The dead-letter page (instance admins) and the console's warning when no worker runs."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from ringround import background
from ringround.background import huey, job
from ringround.extensions import db as _db
from ringround.models import AuditEntry, FailedJob
from tests.conftest import csrf_token_from
from tests.factories import login

_outcome: dict[str, bool] = {"fail": True}


@job()
def _flaky_audit(action: str) -> None:
    if _outcome["fail"]:
        raise RuntimeError(f"provider down for {action}")
    _db.session.add(AuditEntry(action=action))


@pytest.fixture
def admin(client, factories, db):
    org, user = factories.org_with_admin()
    user.is_instance_admin = True
    db.session.commit()
    login(client, user)
    return user


def test_failed_jobs_are_listed_and_run_again_once(client, admin, db):
    _outcome["fail"] = True
    _flaky_audit("text.sent")  # fails at once (no retries): kept
    page = client.get("/console/jobs/").get_data(as_text=True)
    assert "_flaky_audit" in page and '<code>["text.sent"]</code>' in page
    assert "RuntimeError: provider down for text.sent" in page
    failed = db.session.scalars(select(FailedJob)).one()

    _outcome["fail"] = False
    response = client.post(f"/console/jobs/{failed.id}/run-again",
                           data={"csrf_token": csrf_token_from(page)}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The job is queued again" in html and "Queued again on " in html
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "text.sent"))
    assert db.session.get(FailedJob, failed.id).retried_at is not None

    again = client.post(f"/console/jobs/{failed.id}/run-again",
                        data={"csrf_token": csrf_token_from(html)}, follow_redirects=True)
    assert "This job was already run again." in again.get_data(as_text=True)
    assert client.post(f"/console/jobs/{failed.id}/run-again").status_code == 400  # no CSRF


def test_a_job_of_a_kind_that_no_longer_exists_says_so(client, admin, db):
    db.session.add(FailedJob(task_name="ringround.gone.job", task_id="x", args=[], kwargs={},
                             error="KeyError"))
    db.session.commit()
    failed = db.session.scalars(select(FailedJob)).one()
    page = client.get("/console/jobs/").get_data(as_text=True)
    html = client.post(f"/console/jobs/{failed.id}/run-again",
                       data={"csrf_token": csrf_token_from(page)},
                       follow_redirects=True).get_data(as_text=True)
    assert "no longer exists" in html
    assert db.session.get(FailedJob, failed.id).retried_at is None


class TestNoWorker:
    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
                "JOBS_IMMEDIATE": False}

    def test_the_console_warns_admins_when_jobs_wait_and_no_worker_runs(
            self, client, admin, db, factories):
        assert "worker-status" not in client.get("/console/").get_data(as_text=True)
        _flaky_audit("queued")  # waits in the queue: no worker
        html = client.get("/console/").get_data(as_text=True)
        assert "1 job is waiting and no worker has been seen for 3 minutes." in html
        assert "flask --app wsgi worker" in html

        huey.storage.put_data("worker-seen", str(time.time() - 200).encode())
        assert "worker-status" in client.get("/console/").get_data(as_text=True)
        background.heartbeat.call_local()  # a worker runs
        assert "worker-status" not in client.get("/console/").get_data(as_text=True)

    def test_organization_admins_who_do_not_run_the_server_are_not_told(
            self, client, factories, db):
        _org, user = factories.org_with_admin()
        login(client, user)
        _flaky_audit("queued")
        html = client.get("/console/").get_data(as_text=True)
        assert "worker-status" not in html and "Failed jobs" not in html
