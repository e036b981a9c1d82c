"""Hostile uploads through the web: refused in the request from cheap checks only, read in
the background, a mapping page that grows with the columns (not their square); and what
imports leave behind is purged, and reached by erasure."""

from __future__ import annotations

import io
import os
import re
import time
from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import func, select

from ringround.models import Contact, ImportJob, ImportStatus
from ringround.people import jobs
from tests.conftest import csrf_token_from, post_form
from tests.core.people.test_hostile_files import _xlsx_bomb
from tests.web.test_contacts import admin_client, wait_checked, wait_done  # noqa: F401

PHONE = "+33612345601"


def _upload_bytes(client, name: str, data: bytes):
    html = client.get("/console/contacts/import").get_data(as_text=True)
    return client.post("/console/contacts/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token_from(html),
                             "file": (io.BytesIO(data), name)})


def _wide_csv(columns: int) -> bytes:
    header = ["phone"] + [f"Column {i}" for i in range(1, columns)]
    row = [PHONE] + [f"v{i}" for i in range(1, columns)]
    return (",".join(header) + "\n" + ",".join(row) + "\n").encode()


def _mapping_page_bytes(client, db, columns: int) -> int:
    response = _upload_bytes(client, f"wide{columns}.csv", _wide_csv(columns))
    assert response.status_code == 302
    job_id = int(response.location.rsplit("/", 1)[1])
    page = wait_checked(client, job_id)
    assert page.count("<select") == columns
    return len(page.encode())


def test_the_mapping_page_grows_linearly_with_the_columns(admin_client, db):  # noqa: F811
    base = _mapping_page_bytes(admin_client, db, 1 + 1)  # the page around the table
    at_100 = _mapping_page_bytes(admin_client, db, 100) - base
    at_200 = _mapping_page_bytes(admin_client, db, 200) - base
    assert 1.8 < at_200 / at_100 < 2.2
    assert _mapping_page_bytes(admin_client, db, 300) < 3 * 1024 * 1024


def test_a_file_of_10001_columns_is_refused_with_a_message(admin_client, db):  # noqa: F811
    _upload_bytes(admin_client, "wide.csv", _wide_csv(10_001))
    job = db.session.scalar(select(ImportJob))
    page = wait_checked(admin_client, job.id)
    # The header alone is longer than the first 64 KB read: the count is a lower bound.
    assert re.search(r"The file has over \d,\d{3} columns; the limit is 300\.", page)
    assert "<select" not in page


def test_an_xlsx_bomb_is_refused_in_the_request_quickly(admin_client, db, tmp_path):  # noqa: F811
    path = tmp_path / "bomb.xlsx"
    _xlsx_bomb(path, 1_000_000)
    began = time.monotonic()
    response = _upload_bytes(admin_client, "bomb.xlsx", path.read_bytes())
    assert time.monotonic() - began < 2
    assert response.status_code == 200
    assert "This workbook unpacks to" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert list(jobs.imports_dir().iterdir()) == []


def _import(client, db, data: bytes) -> ImportJob:
    response = _upload_bytes(client, "people.csv", data)
    job_id = int(response.location.rsplit("/", 1)[1])
    wait_checked(client, job_id)
    job = db.session.get(ImportJob, job_id)
    db.session.refresh(job)
    columns = {f"col_{i}": target for i, target in enumerate(job.mapping)}
    assert post_form(client, f"/console/contacts/import/{job_id}", columns).status_code == 302
    wait_done(client, db, job_id)
    db.session.refresh(job)
    return job


PEOPLE = ("first_name,phone,email\nZoé,+33612345601,zoe@example\nLéon,not a number,"
          "leon@example.org\nAda,+33612345603,\n").encode()


def test_reports_hold_no_names_and_erasure_deletes_them(admin_client, db):  # noqa: F811
    job = _import(admin_client, db, PEOPLE)
    report = admin_client.get(f"/console/contacts/import/{job.id}/report.csv")
    text = report.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "row,status,reason"
    assert "Léon" not in text and "leon@" not in text and "3,rejected," in text
    zoe = db.session.scalar(select(Contact).where(Contact.first_name == "Zoé"))
    html = admin_client.get(f"/console/contacts/{zoe.id}").get_data(as_text=True)
    response = admin_client.post(f"/console/contacts/{zoe.id}/erase", data={
        "csrf_token": csrf_token_from(html), "confirm": "erase"})
    assert response.status_code == 302
    assert not jobs.report_path(job).exists()  # it quoted "zoe@example"
    assert admin_client.get(f"/console/contacts/import/{job.id}/report.csv").status_code == 404
    page = admin_client.get(f"/console/contacts/import/{job.id}").get_data(as_text=True)
    assert "Download rejected rows" not in page
    assert "erasing a person deletes the organization" in page  # says why it is gone


def test_uploads_never_imported_go_after_a_day_reports_after_the_retention(
        admin_client, db, app, runner):  # noqa: F811
    app.config["IMPORT_RETENTION_DAYS"] = 10
    finished = _import(admin_client, db, PEOPLE)
    response = _upload_bytes(admin_client, "later.csv", PEOPLE)
    unstarted = db.session.get(ImportJob, int(response.location.rsplit("/", 1)[1]))
    wait_checked(admin_client, unstarted.id)
    db.session.refresh(unstarted)
    report, upload = jobs.report_path(finished), jobs.upload_path(unstarted)
    assert report.exists() and upload.exists()
    ids, uploaded = (finished.id, unstarted.id), unstarted.created_at
    old_cli_report = jobs.imports_dir() / "cli-20260301-x.report.csv"
    old_cli_report.write_text("row,status,reason\n")
    nine_days = (uploaded - timedelta(days=9)).timestamp()  # old enough at the second purge
    os.utime(old_cli_report, (nine_days, nine_days))

    with freeze_time(uploaded + timedelta(hours=23, minutes=59)):  # not yet a day
        result = runner.invoke(args=["contacts", "purge-imports"])
    assert "Deleted 0 uploads never imported, 0 finished imports" in result.output
    with freeze_time(uploaded + timedelta(days=1, minutes=1)):
        result = runner.invoke(args=["contacts", "purge-imports"])
    assert "Deleted 1 uploads never imported, 0 finished imports with their reports, " \
        "1 other old files." in result.output
    db.session.expire_all()
    assert not upload.exists() and db.session.get(ImportJob, ids[1]) is None
    assert report.exists() and db.session.get(ImportJob, ids[0]) is not None
    assert not old_cli_report.exists()

    with freeze_time(finished.finished_at + timedelta(days=9, hours=23)):
        runner.invoke(args=["contacts", "purge-imports"])
    assert report.exists()
    # Ten days after it finished, the next import's start purges it.
    db.session.get(ImportJob, ids[0]).finished_at -= timedelta(days=10)
    db.session.commit()
    _import(admin_client, db, PEOPLE)
    db.session.expire_all()
    assert not report.exists() and db.session.get(ImportJob, ids[0]) is None
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 1
    assert db.session.scalar(select(ImportJob.status)) is ImportStatus.DONE
