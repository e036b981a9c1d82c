"""The import pages only queue jobs: an upload or an import request starts no thread and no
process in the web worker; a worker runs the jobs, and the page shows their progress."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from ringround.background import huey
from ringround.models import Contact, ImportJob, ImportStatus
from tests.conftest import post_form
from tests.web.test_contacts import admin_client, upload, wait_done  # noqa: F401 - fixture


@pytest.fixture
def app_overrides(tmp_path):
    return {"JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}", "JOBS_IMMEDIATE": False}


def run_queued() -> int:
    """What a worker does: run the queued jobs, in order."""
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def test_upload_and_import_requests_only_queue_jobs(admin_client, db):  # noqa: F811
    client = admin_client
    threads = threading.active_count()
    response = upload(client, "fr_semicolons_cp1252.csv")
    assert response.status_code == 302
    assert threading.active_count() == threads
    job = db.session.scalar(select(ImportJob))
    assert job.status is ImportStatus.CHECKING and len(huey) == 1  # waits for a worker
    page = client.get(f"/console/contacts/import/{job.id}").get_data(as_text=True)
    assert "hx-trigger" in page  # the page polls for progress meanwhile

    assert run_queued() == 1
    db.session.refresh(job)
    assert job.status is ImportStatus.PREVIEW
    columns = {f"col_{i}": target for i, target in enumerate(job.mapping)}
    response = post_form(client, f"/console/contacts/import/{job.id}",
                         {**columns, "default_region": "fr"})
    assert response.status_code == 302
    assert threading.active_count() == threads
    db.session.refresh(job)
    assert job.status is ImportStatus.QUEUED and len(huey) == 1
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0

    assert run_queued() == 1
    html = wait_done(client, db, job.id)
    assert 'data-key="created">4<' in html
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 4
