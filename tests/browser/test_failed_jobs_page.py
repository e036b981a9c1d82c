"""An instance admin on a phone and at a desk: the console warns that no worker runs, the
failed jobs page lists what failed and runs a job again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ringround.extensions import db
from ringround.models import FailedJob
from ringround.people import jobs
from tests import factories
from tests.browser_fixtures import PHONE, open_page, page_width

SHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "")) if os.environ.get("SCREENSHOTS_DIR") else None


@pytest.fixture
def app_overrides(tmp_path):
    return {"JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}", "JOBS_IMMEDIATE": False}


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_admin_sees_the_missing_worker_and_runs_a_failed_job_again(browser, live_server, size):
    with live_server.app.app_context():
        org, admin = factories.org_with_admin()
        admin.is_instance_admin = True
        db.session.add(FailedJob(
            task_name="ringround.people.jobs.imports.inspect", task_id="a1", args=[41],
            kwargs={}, error="OSError: [Errno 28] No space left on device: "
                             "'/srv/ringround/instance/imports/4f9c2b7d1e0a.csv'"))
        db.session.commit()
        jobs.purge_old_imports()  # a job waits in the queue; no worker takes it
        email = admin.email
    context = PHONE if size == "phone" else {"viewport": {"width": 1280, "height": 800}}
    page = open_page(browser, live_server, **context)
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/console/")
    expect(page.locator("#worker-status")).to_contain_text("no worker has been seen")
    expect(page.locator("#failed-jobs-status")).to_contain_text("1 job failed.")
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"console-{size}.png"), full_page=True)
    page.get_by_role("link", name="See failed jobs").click()
    expect(page.locator(".failed-error")).to_contain_text("No space left on device")
    assert page_width(page) <= \
        page.viewport_size["width"]
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"failed-jobs-{size}.png"), full_page=True)
    page.get_by_role("button", name="Run again").click()
    expect(page.get_by_text("The job is queued again")).to_be_visible()
    expect(page.get_by_role("button", name="Run again")).to_have_count(0)
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"failed-jobs-after-{size}.png"), full_page=True)
    assert page.console_errors == []
    page.context.close()
