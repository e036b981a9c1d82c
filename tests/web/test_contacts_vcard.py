"""Contacts from phones through the upload page and the command line: several .vcf files
at once, a zip of them, the required consent note, the report of a card with no number."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from sqlalchemy import func, select

from ringround.models import Contact, ContactPhone, ImportJob, ImportStatus
from tests.conftest import csrf_token_from, post_form
from tests.core.people.conftest import FIXTURES
from tests.factories import login
from tests.web.test_contacts import wait_checked, wait_done

VCARDS = ("iphone_3.0.vcf", "android_2.1.vcf", "desktop_4.0.vcf")
NAMES = {"Jean-Pierre Dupont", "Thi Minh Nguyen", "Åsa Öberg", "Élodie Lefèvre",
         "Zoë Van den Berg"}
NUMBERS = {"+33472001122", "+33478123456", "+33612345678", "+33698765432", "+33755443322",
           "+46701234567", "+46812345678", "+33144556677", "+33655443322", "+31201234567",
           "+31612345678"}
CONSENT = {"consent_source": "Phones of the Lyon team",
           "consent_purpose": "Invitations to union meetings"}


@pytest.fixture
def admin_client(client, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    client.org = org
    return client


def upload_files(client, files: list[tuple[bytes, str]]):
    html = client.get("/console/contacts/import").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(html),
            "file": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/console/contacts/import", data=data,
                       content_type="multipart/form-data")


def zipped(names) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(FIXTURES / name, f"Contacts/{name}")
    return buffer.getvalue()


def import_with(client, db, response, extra: dict):
    job = db.session.scalar(select(ImportJob))
    wait_checked(client, job.id)
    db.session.refresh(job)
    columns = {f"col_{i}": target for i, target in enumerate(job.mapping)}
    return job, post_form(client, response.location,
                          {**columns, "default_region": "FR", **extra})


def _imported(db) -> tuple[set[str], set[str]]:
    names = {f"{c.first_name} {c.last_name}" for c in db.session.scalars(select(Contact))}
    return names, set(db.session.scalars(select(ContactPhone.e164)))


# Paul, with no number, is the 5th card in upload order, the 3rd in the zip's name order.
@pytest.mark.parametrize("files, paul", [
    ([((FIXTURES / name).read_bytes(), name) for name in VCARDS], "5"),
    ([(zipped(VCARDS), "contacts.zip")], "3"),
], ids=["several-vcf", "zip"])
def test_vcards_upload_with_consent_note(admin_client, db, files, paul):
    client = admin_client
    response = upload_files(client, files)
    assert response.status_code == 302
    job, response = import_with(client, db, response, CONSENT)
    assert response.status_code == 302
    html = wait_done(client, db, job.id)
    assert 'data-key="created">5<' in html and 'data-key="rejected">1<' in html
    assert _imported(db) == (NAMES, NUMBERS)
    report = client.get(f"/console/contacts/import/{job.id}/report.csv")
    rows = list(csv.DictReader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert [(r["row"], r["status"], r["reason"]) for r in rows] == [
        (paul, "rejected", "no phone number")]
    for contact in db.session.scalars(select(Contact)):
        assert contact.source == "vcard:Phones of the Lyon team"
        assert (contact.custom["consent_source"], contact.custom["consent_purpose"]) == (
            "Phones of the Lyon team", "Invitations to union meetings")


def test_vcards_need_the_consent_note_and_keep_the_choices(admin_client, db):
    client = admin_client
    response = upload_files(client, [((FIXTURES / "iphone_3.0.vcf").read_bytes(),
                                      "iphone.vcf")])
    job, refused = import_with(client, db, response, {
        "consent_source": "", "consent_purpose": "", "tags": "lyon", "col_12": "ignore"})
    assert refused.status_code == 200
    page = refused.get_data(as_text=True)
    assert "2 contact cards, one row each." in page
    assert "Say where these contacts come from." in page
    assert "Say what these people will be called about." in page
    assert 'value="lyon"' in page  # nothing typed is lost
    assert '<select id="col_12" name="col_12">' in page and \
        '<option value="ignore" selected>' in page.split('id="col_12"')[1].split("</select>")[0]
    db.session.refresh(job)
    assert job.status is ImportStatus.PREVIEW
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_csv_imports_ask_no_consent_note(admin_client, db):
    client = admin_client
    upload_files(client, [((FIXTURES / "nl_commas.csv").read_bytes(), "nl.csv")])
    job = db.session.scalar(select(ImportJob))
    assert "consent_source" not in wait_checked(client, job.id)


def test_several_files_must_all_be_vcards(admin_client, db):
    response = upload_files(admin_client, [
        ((FIXTURES / "iphone_3.0.vcf").read_bytes(), "a.vcf"),
        ((FIXTURES / "nl_commas.csv").read_bytes(), "b.csv")])
    assert response.status_code == 200
    assert "Several files at once can only be vCard (.vcf) files" in \
        response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_cli_imports_vcards_with_a_consent_note(app, db, factories, tmp_path):
    org, _ = factories.org_with_admin()
    archive = tmp_path / "phones.zip"
    archive.write_bytes(zipped(VCARDS))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contacts", "import", str(archive), "--org", org.slug,
                                 "--default-region", "FR"])
    assert result.exit_code != 0
    assert "--consent-source and --consent-purpose" in result.output
    report = tmp_path / "report.csv"
    result = runner.invoke(args=[
        "contacts", "import", str(archive), "--org", org.slug, "--default-region", "FR",
        "--consent-source", "Phones of the Lyon team",
        "--consent-purpose", "Invitations to union meetings", "--report", str(report)])
    assert result.exit_code == 3, result.output  # imported, one card without a number
    assert "created: 5" in result.output
    assert _imported(db) == (NAMES, NUMBERS)
    with report.open(encoding="utf-8") as handle:
        assert [(r["row"], r["reason"]) for r in csv.DictReader(handle)] == [
            ("3", "no phone number")]  # the zip's files in name order: android first
    contact = db.session.scalar(select(Contact).where(Contact.first_name == "Åsa"))
    assert contact.source == "vcard:Phones of the Lyon team"
    assert contact.custom["consent_purpose"] == "Invitations to union meetings"
