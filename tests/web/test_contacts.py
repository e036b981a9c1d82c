"""The contacts console through the Flask client: upload and mapping, background import with
progress, the report, filters and lists, bulk tags, exports, one contact's privacy actions."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from sqlalchemy import func, select

from ringround.models import (
    AuditEntry,
    Contact,
    ContactPhone,
    ImportJob,
    ImportStatus,
    PhoneStatus,
    SavedList,
)
from ringround.optouts import is_opted_out
from tests.conftest import csrf_token_from, post_form
from tests.core.people.conftest import FIXTURES
from tests.factories import login


@pytest.fixture
def admin_client(client, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    client.org = org
    return client


def upload(client, name):
    html = client.get("/console/contacts/import").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(html),
            "file": (io.BytesIO((FIXTURES / name).read_bytes()), name)}
    return client.post("/console/contacts/import", data=data,
                       content_type="multipart/form-data")


def wait_checked(client, job_id):
    """Wait for the background check of an upload: the mapping page, or the failure."""
    for _ in range(100):
        response = client.get(f"/console/contacts/import/{job_id}/progress",
                              headers={"HX-Request": "true"})
        if response.headers.get("HX-Redirect") or "hx-trigger" not in response.get_data(
                as_text=True):
            return client.get(f"/console/contacts/import/{job_id}").get_data(as_text=True)
        time.sleep(0.1)
    raise AssertionError("the upload was not checked")


def wait_done(client, db, job_id):
    for _ in range(100):
        html = client.get(f"/console/contacts/import/{job_id}/progress",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        if "hx-trigger" not in html:
            return html
        time.sleep(0.1)
    raise AssertionError("import did not finish")


def test_upload_map_import_and_download_the_report(admin_client, db):
    client = admin_client
    response = upload(client, "fr_semicolons_cp1252.csv")
    assert response.status_code == 302
    job = db.session.scalar(select(ImportJob))
    page = wait_checked(client, job.id)
    db.session.refresh(job)
    # The preview guessed the French headers and shows the first values.
    assert '<option value="phone" selected>' in page and "Téléphone" in page
    assert "Élodie" in page
    # Empty cells leave no stray comma in a column's first values.
    cells = re.findall(r'<td class="muted">(.*?)</td>', page, re.S)
    assert cells and not [cell for cell in cells if cell.rstrip().endswith(",")
                          or cell.startswith(",") or ", ," in cell]
    columns = {f"col_{i}": target for i, target in enumerate(job.mapping)}
    assert columns["col_2"] == "phone" and columns["col_3"] == "mobile"
    columns["col_10"] = "ignore"  # the organizer drops "Membre depuis"
    response = post_form(client, response.location,
                         {**columns, "default_region": "fr", "tags": "spring, paris"})
    assert response.status_code == 302
    html = wait_done(client, db, job.id)
    assert 'data-key="created">4<' in html and 'data-key="rejected">4<' in html
    assert 'data-key="merged">1<' in html

    report = client.get(f"/console/contacts/import/{job.id}/report.csv")
    assert report.data.startswith(b"\xef\xbb\xbfrow,")  # a BOM, for Excel's accents
    rows = list(csv.DictReader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert [(r["row"], r["status"], r["reason"]) for r in rows] == [
        ("4", "rejected", "not a phone number (pas de téléphone)"),
        ("6", "rejected", "no phone number"),
        ("8", "rejected", "too short to be a phone number (06 12)"),
        ("9", "rejected", "number mangled by a spreadsheet (scientific notation) (6.12346E+10)"),
    ]
    elodie = db.session.scalar(select(Contact).where(Contact.first_name == "Élodie"))
    assert elodie.custom == {} and {"spring", "paris"} <= {t.name for t in elodie.tags}
    assert db.session.get(ImportJob, job.id).status is ImportStatus.DONE


@pytest.mark.parametrize("name, message", [
    ("empty.csv", "The file is empty."),
    ("not_a_table.csv", "This is not a table"),
])
def test_bad_uploads_get_a_clear_message_and_change_nothing(admin_client, db, name, message):
    response = upload(admin_client, name)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_file_refused_once_read_says_why_and_changes_nothing(admin_client, db):
    response = upload(admin_client, "no_phone_column.csv")
    assert response.status_code == 302  # read in the background, not in the request
    job = db.session.scalar(select(ImportJob))
    page = wait_checked(admin_client, job.id)
    assert "No phone column found." in page and "Upload another file" in page
    db.session.refresh(job)
    assert job.status is ImportStatus.FAILED
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def import_fixture(db, org, name, region):
    from ringround.people.importer import import_contacts

    import_contacts(db.session, org.id, FIXTURES / name, default_region=region)


def test_live_count_save_list_bulk_tag_and_export(admin_client, db):
    client = admin_client
    import_fixture(db, client.org, "se_tabs_bom.csv", "SE")
    html = client.get("/console/contacts/count?country=NL",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-count="2"' in html
    bad = client.get("/console/contacts/count?not_called_days=abc").get_data(as_text=True)
    assert "needs a number" in bad

    response = post_form(client, "/console/contacts/lists",
                         {"list_name": "Dutch", "country": "NL"}, page="/console/contacts/")
    saved = db.session.scalar(select(SavedList))
    assert saved.filter == {"country": "NL"} and f"list={saved.id}" in response.location
    assert 'data-count="2"' in client.get(response.location).get_data(as_text=True)

    post_form(client, "/console/contacts/tags", {"tag": "call-me", "action": "add",
                                                 "country": "NL"}, page="/console/contacts/")
    html = client.get("/console/contacts/count?tags_any=call-me").get_data(as_text=True)
    assert 'data-count="2"' in html

    response = post_form(client, "/console/contacts/export",
                         {"country": "NL", "list_name": "Dutch"}, page="/console/contacts/")
    assert response.mimetype == "text/csv" and response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert sorted(r["phone_1"] for r in rows) == ["+31201234567", "+31612345678"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contacts.exported"))
    assert entry.details["count"] == 2 and entry.details["list"] == "Dutch"
    assert entry.actor_id is not None


def test_contact_page_privacy_actions(admin_client, db):
    client = admin_client
    import_fixture(db, client.org, "se_tabs_bom.csv", "SE")
    emma = db.session.scalar(select(Contact).where(Contact.first_name == "Emma"))
    emma_id = emma.id
    page = f"/console/contacts/{emma_id}"
    phone = emma.phones[0]
    phone.status = PhoneStatus.WRONG_NUMBER
    db.session.commit()
    html = client.get(page).get_data(as_text=True)
    assert "+1 617-555-0143 x123" in html and "marked: Wrong number" in html

    post_form(client, f"/console/contacts/phones/{phone.id}/reset", {}, page=page)
    db.session.refresh(phone)
    assert phone.status is PhoneStatus.OK
    post_form(client, f"/console/contacts/phones/{phone.id}/opt-out", {}, page=page)
    assert is_opted_out(db.session, client.org.id, "+16175550143")
    post_form(client, f"/console/contacts/{emma.id}/do-not-contact", {"value": "1"}, page=page)
    db.session.refresh(emma)
    assert emma.do_not_contact is True

    response = post_form(client, f"/console/contacts/{emma.id}/data.json", {}, page=page)
    data = json.loads(response.get_data(as_text=True))
    assert data["contact"]["email"] == "emma@example.com"
    assert data["phones"][0]["opted_out"] is True

    response = post_form(client, f"/console/contacts/{emma.id}/erase", {"confirm": "nope"},
                         page=page)
    assert db.session.get(Contact, emma.id) is not None
    post_form(client, f"/console/contacts/{emma_id}/erase", {"confirm": "erase"}, page=page)
    db.session.expire_all()
    assert db.session.get(Contact, emma_id) is None
    assert db.session.scalar(select(func.count()).select_from(ContactPhone).where(
        ContactPhone.e164 == "+14155550199")) == 0
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"contact.erased", "contact.access_exported", "phone.opted_out",
            "phone.status_reset", "contact.do_not_contact"} <= actions


def test_other_organizations_contacts_are_out_of_reach(admin_client, db, factories):
    other, _ = factories.org_with_admin()
    stranger = factories.contact(other)
    assert admin_client.get(f"/console/contacts/{stranger.id}").status_code == 404
    phone_id = stranger.phones[0].id
    response = post_form(admin_client, f"/console/contacts/phones/{phone_id}/opt-out", {},
                         page="/console/contacts/")
    assert response.status_code == 404


def test_anonymous_users_are_sent_to_login(client, factories):
    factories.org_with_admin()
    for path in ["/console/contacts/", "/console/contacts/import"]:
        assert "/login" in client.get(path).location


def test_contacts_is_in_the_console_nav(admin_client):
    html = admin_client.get("/console/").get_data(as_text=True)
    assert '<a href="/console/contacts/">Contacts</a>' in html

