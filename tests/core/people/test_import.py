"""Importing messy files: every row created, merged or reported, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone, CustomField, Household, OptOut, PhoneLabel
from ringround.optouts import opt_out_number
from ringround.people.importer import import_contacts
from ringround.people.reader import TableError


def contact_by_phone(org, e164):
    return db.session.scalar(select(Contact).join(ContactPhone).where(
        ContactPhone.organization_id == org.id, ContactPhone.e164 == e164))


def count(model, org):
    return db.session.scalar(select(func.count()).select_from(model)
                             .where(model.organization_id == org.id))


def test_french_cp1252_semicolon_file_row_by_row(org, run_import):
    summary, report = run_import(org, "fr_semicolons_cp1252.csv", default_region="FR")
    assert (summary.created, summary.merged, summary.rejected) == (4, 1, 4)
    rejected = {int(r["row"]): r["reason"] for r in report if r["status"] == "rejected"}
    assert rejected == {
        4: "not a phone number (pas de téléphone)",
        6: "no phone number",
        8: "too short to be a phone number (06 12)",
        9: "number mangled by a spreadsheet (scientific notation) (6.12346E+10)",
    }
    # The rejected row keeps its original cells, so it can be fixed and re-imported.
    row4 = next(r for r in report if r["row"] == "4")
    assert row4["Prénom"] == "Zoë" and row4["Courriel"] == "zoe@example.org"

    elodie = contact_by_phone(org, "+33612345678")
    assert (elodie.first_name, elodie.last_name, elodie.email) == ("Élodie", "Martin",
                                                                   "elodie@example.org")
    phones = {(p.e164, p.extension, p.label, p.is_mobile) for p in elodie.phones}
    assert phones == {("+33123456789", "12", PhoneLabel.LANDLINE, False),
                      ("+33612345678", None, PhoneLabel.MOBILE, True)}
    assert sorted(t.name for t in elodie.tags) == ["bénévole", "donatrice"]  # row 5 merged
    assert elodie.custom == {"membre_depuis": "2019"}
    assert elodie.time_zone == "Europe/Paris" and elodie.country == "FR"

    francois = contact_by_phone(org, "+33612345679")  # Excel apostrophe stripped
    assert francois.household_id == elodie.household_id is not None  # same address
    aicha = contact_by_phone(org, "+32470123456")
    assert aicha.country == "BE" and aicha.time_zone == "Europe/Brussels"
    assert aicha.household_id not in (None, elodie.household_id)
    assert contact_by_phone(org, "+33798765432").first_name == "Inès"
    assert count(Contact, org) == 4 and count(Household, org) == 2
    assert db.session.scalar(select(CustomField.label).where(
        CustomField.organization_id == org.id)) == "Membre depuis"


def test_swedish_tabs_with_bom_merges_by_number_and_email(org, run_import):
    summary, report = run_import(org, "se_tabs_bom.csv", default_region="SE")
    assert (summary.created, summary.merged, summary.rejected) == (4, 2, 1)
    assert [(r["row"], r["status"]) for r in report] == [
        ("6", "warning"), ("7", "rejected")]
    assert report[0]["reason"] == ("first_name: kept Björn (file had Olle); "
                                   "last_name: kept Åström (file had Svensson)")
    assert report[1]["reason"] == "too short to be a phone number (12345)"

    bjorn = contact_by_phone(org, "+46701234567")
    assert bjorn.first_name == "Björn" and bjorn.last_name == "Åström"
    assert {p.e164 for p in bjorn.phones} == {"+46812345678", "+46701234567"}
    emma = contact_by_phone(org, "+16175550143")
    assert [(p.e164, p.extension) for p in emma.phones] == [
        ("+16175550143", "123"), ("+14155550199", None)]  # merged by email, any case
    assert [t.name for t in emma.tags] == ["donor"]
    assert emma.time_zone == "America/New_York"
    daan = contact_by_phone(org, "+31612345678")
    assert daan.country == "NL" and daan.time_zone == "Europe/Amsterdam"
    assert contact_by_phone(org, "+31201234567").last_name == "Bakker"  # country "Nederland"


def test_dutch_household_column_and_warnings(org, run_import):
    summary, report = run_import(org, "nl_commas.csv", default_region="NL")
    assert (summary.created, summary.merged, summary.rejected, summary.warnings) == (4, 0, 0, 1)
    assert [(r["row"], r["status"], r["reason"]) for r in report] == [
        ("5", "warning", "invalid email 'not-an-email' ignored")]
    lotte = contact_by_phone(org, "+31201234568")
    sem = contact_by_phone(org, "+31623456789")
    assert lotte.household_id == sem.household_id is not None
    assert lotte.street == "Dorpsstraat 1, bus 2" and lotte.language == "nl"
    assert contact_by_phone(org, "+31612345670").first_name == "Kim, jr."
    fleur = contact_by_phone(org, "+31634567890")
    assert fleur.email is None and fleur.language == "en"


def test_xlsx_with_numbers_dates_and_custom_fields(org, run_import):
    summary, report = run_import(org, "us_mixed.xlsx", default_region="US")
    assert (summary.created, summary.rejected) == (3, 1)
    assert [(r["row"], r["status"], r["reason"]) for r in report] == [
        ("4", "rejected", "not a valid number for its country (46707654321)")]
    maria = contact_by_phone(org, "+12025550143")
    assert maria.date_of_birth == date(1980, 5, 17)
    assert sorted(t.name for t in maria.tags) == ["member", "volunteer"]
    assert maria.custom == {"volunteer_shifts": "3"}
    lars = contact_by_phone(org, "+46707654321")
    assert lars.date_of_birth == date(1975, 2, 28) and lars.country == "SE"
    sofie = contact_by_phone(org, "+32470987654")
    assert sofie.date_of_birth == date(1990, 12, 31)


def test_reimporting_the_same_file_only_merges(org, run_import):
    run_import(org, "fr_semicolons_cp1252.csv", default_region="FR")
    summary, _ = run_import(org, "fr_semicolons_cp1252.csv", default_region="FR")
    assert (summary.created, summary.merged, summary.rejected) == (0, 5, 4)
    assert count(Contact, org) == 4
    assert count(ContactPhone, org) == 5


def test_import_tags_every_contact(org, run_import):
    run_import(org, "nl_commas.csv", default_region="NL", tags=["spring-2026"])
    contacts = db.session.scalars(select(Contact).where(Contact.organization_id == org.id))
    assert all("spring-2026" in {t.name for t in c.tags} for c in contacts)


def test_opted_out_number_stays_suppressed_on_reimport(org, run_import):
    opt_out_number(db.session, org.id, "+33798765432", "sms_stop")
    db.session.commit()
    summary, _ = run_import(org, "fr_semicolons_cp1252.csv", default_region="FR")
    assert summary.suppressed == 1
    assert contact_by_phone(org, "+33798765432").do_not_contact is True
    assert contact_by_phone(org, "+33612345678").do_not_contact is False


@pytest.mark.parametrize("name, message", [
    ("empty.csv", "The file is empty."),
    ("headers_only.csv", "The file has column names but no rows."),
    ("no_phone_column.csv", "No phone column found."),
    ("not_a_table.csv", "This is not a table"),
    ("prose.txt", "This is not a table"),
])
def test_bad_files_are_refused_whole(org, fixture_path, name, message):
    with pytest.raises(TableError, match=message.replace(".", r"\.")):
        import_contacts(db.session, org.id, fixture_path(name))
    db.session.rollback()
    assert count(Contact, org) == 0 and count(OptOut, org) == 0


def test_too_large_file_is_refused(org, fixture_path):
    with pytest.raises(TableError, match="too large"):
        import_contacts(db.session, org.id, fixture_path("nl_commas.csv"), max_bytes=100)


def test_worker_pool_gives_the_same_result(org, run_import):
    summary, report = run_import(org, "se_tabs_bom.csv", default_region="SE", workers=2,
                                 chunk_rows=2)
    assert (summary.created, summary.merged, summary.rejected) == (4, 2, 1)
    assert [(r["row"], r["status"]) for r in report] == [("6", "warning"), ("7", "rejected")]
