"""vCard files (2.1 quoted-printable, 3.0, 4.0) through the one import pipeline."""

from __future__ import annotations

import zipfile

from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone
from ringround.people.reader import check_upload, open_table
from ringround.people.vcard import read_cards
from tests.core.people.conftest import FIXTURES, refused

VCARDS = ("iphone_3.0.vcf", "android_2.1.vcf", "desktop_4.0.vcf")


def _people(org_id: int) -> dict[str, tuple[str | None, list[tuple[str, str]]]]:
    """Full name → (email, sorted (number, label)) of an organization's contacts."""
    people = {}
    for contact in db.session.scalars(select(Contact).where(Contact.organization_id == org_id)):
        phones = db.session.scalars(select(ContactPhone).where(
            ContactPhone.contact_id == contact.id)).all()
        people[f"{contact.first_name} {contact.last_name}"] = (
            contact.email, sorted((p.e164, str(p.label)) for p in phones))
    return people


def test_every_number_in_e164_and_every_name_intact(org, run_import):
    for name in VCARDS:
        run_import(org, name, default_region="FR")
    people = _people(org.id)
    assert people == {
        "Jean-Pierre Dupont": ("jp.dupont@example.org", [
            ("+33472001122", "landline"), ("+33478123456", "landline"),
            # a number of no type: its own kind (06: mobile)
            ("+33612345678", "mobile"), ("+33698765432", "mobile")]),
        "Thi Minh Nguyen": (None, [("+33755443322", "mobile")]),
        "Åsa Öberg": ("asa@example.se", [("+46701234567", "mobile"),
                                         ("+46812345678", "landline")]),
        "Élodie Lefèvre": (None, [("+33144556677", "landline"), ("+33655443322", "mobile")]),
        "Zoë Van den Berg": ("zoe.vandenberg@example.nl", [
            ("+31201234567", "landline"), ("+31612345678", "mobile")]),
    }


def test_address_organization_and_notes_are_kept(org, run_import):
    run_import(org, "android_2.1.vcf", default_region="FR")
    run_import(org, "iphone_3.0.vcf", default_region="FR")
    asa = db.session.scalar(select(Contact).where(Contact.first_name == "Åsa"))
    assert (asa.street, asa.postcode, asa.city) == ("Storgatan 1", "411 01", "Göteborg")
    # a quoted-printable soft line break (`=` at the end of a line) joins the two halves
    assert asa.custom["notes"] == "Träffade henne på mötet i Göteborg, ringer gärna på kvällen"
    jean = db.session.scalar(select(Contact).where(Contact.first_name == "Jean-Pierre"))
    assert jean.custom["organization"] == "Syndicat CGT / Section Lyon"
    assert jean.custom["notes"] == "Met at the march, likes\nto call on Sundays"


def test_a_card_without_a_number_is_reported(org, run_import):
    summary, report = run_import(org, "android_2.1.vcf", default_region="FR")
    assert summary.created == 2 and summary.rejected == 1
    assert [(r["row"], r["status"], r["reason"]) for r in report] == [
        ("3", "rejected", "no phone number")]


def test_folded_lines_photos_and_unknown_properties():
    raw = (b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nN:Lo\r\n ng;Anna;;;\r\n"
           b"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\r\n SkZJRg\r\n\tABAQ\r\n"
           b"X-UNKNOWN;FOO=bar:TEL:+33612345678\r\n"
           b"TEL;TYPE=pager:+33600000000\r\nTEL;TYPE=cell:+33 6 12\r\n 34 56 78\r\n"
           b"END:VCARD\r\n")
    [card] = read_cards(raw.splitlines(keepends=True))
    assert (card.first_name, card.last_name) == ("Anna", "Long")
    assert card.phones == {"mobile": ["+33 6 1234 56 78"], "landline": [], "phone": []}


def test_a_zip_of_vcards_is_one_table_numbered_on(tmp_path):
    archive = tmp_path / "phones.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in VCARDS:
            zipped.write(FIXTURES / name, f"export/{name}")
        zipped.writestr("__MACOSX/export/._iphone_3.0.vcf", b"\x00\x05")
    assert check_upload(archive) == "vcard"
    table = open_table(archive)
    assert table.estimated_rows == 6
    assert [number for number, _cells in table.rows()] == [1, 2, 3, 4, 5, 6]


def test_a_zip_bomb_of_vcards_is_refused(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("a.vcf", b"BEGIN:VCARD\r\n" + b"NOTE:" + b"x" * (50 * 1024 * 1024))
    with refused("This zip unpacks to"):
        check_upload(archive)


def test_a_zip_without_vcards_nor_workbook_is_refused(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", b"hello")
    with refused("not a readable Excel workbook nor a zip of vCard"):
        check_upload(archive)


def test_consent_columns_are_stored_with_each_contact(org, run_import):
    table = open_table(FIXTURES / "iphone_3.0.vcf").with_constants(
        {"Consent source": "Phones of the Lyon team", "Consent purpose": "Union news"})
    run_import(org, "iphone_3.0.vcf", default_region="FR", table=table,
               source="vcard:Phones of the Lyon team")
    contacts = db.session.scalars(select(Contact)).all()
    assert len(contacts) == 2
    assert {(c.source, c.custom["consent_source"], c.custom["consent_purpose"])
            for c in contacts} == {
        ("vcard:Phones of the Lyon team", "Phones of the Lyon team", "Union news")}
