"""Importing messy files: every row created, merged or reported, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone, CustomField, Household, OptOut, PhoneLabel
from ringround.optouts import opt_out_number
from ringround.people.importer import import_contacts
from tests.core.people.conftest import refused, report_lines


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
    # The report names rows by number, without their cells (names, emails: docs/privacy.md).
    assert set(report[0]) == {"row", "status", "reason"}
    assert not any("Zoë" in value or "zoe@" in value for line in report
                   for value in line.values())

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
    assert report[0]["reason"] == ("First name: kept Björn (file had Olle); "
                                   "Last name: kept Åström (file had Svensson)")
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
    with refused(message.replace(".", r"\.")):
        import_contacts(db.session, org.id, fixture_path(name))
    db.session.rollback()
    assert count(Contact, org) == 0 and count(OptOut, org) == 0


def test_too_large_file_is_refused(org, fixture_path):
    with refused("too large"):
        import_contacts(db.session, org.id, fixture_path("nl_commas.csv"), max_bytes=100)


def test_worker_pool_gives_the_same_result(org, run_import):
    summary, report = run_import(org, "se_tabs_bom.csv", default_region="SE", workers=2,
                                 chunk_rows=2)
    assert (summary.created, summary.merged, summary.rejected) == (4, 2, 1)
    assert [(r["row"], r["status"]) for r in report] == [("6", "warning"), ("7", "rejected")]


def _write_people(path, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("First name;Last name;Phone;Mobile;Email;Address;City;Tags\n")
        handle.writelines(";".join(row) + "\n" for row in rows)


def _fr(n: int) -> str:
    return f"+3361{n:07d}"


def test_big_file_merges_into_existing_contacts(org, tmp_path):
    """A few thousand rows into an organization that already has contacts, across many
    chunks: duplicates by number (written another way) and by email join the existing
    contact, new ones are created, and every remark names its row."""
    opt_out_number(db.session, org.id, _fr(2500), "sms_stop")
    db.session.commit()
    first = tmp_path / "first.csv"  # contacts 0..1999, a household per pair, every 3rd mailed
    _write_people(first, [
        ["Ann", f"N{n}", _fr(n), "", f"p{n}@example.org" if n % 3 == 0 else "",
         f"{n // 2} Rue Haute", "Lyon", "member"] for n in range(2000)])
    summary, _ = import_contacts(db.session, org.id, first, chunk_rows=300, default_region="FR")
    assert (summary.created, summary.merged, summary.households) == (2000, 0, 1000)

    rows = []
    for n in range(1000, 3000):  # 1000..1999 exist, 2000..2999 are new
        digits = f"061{n:07d}"
        national = " ".join(digits[i:i + 2] for i in range(0, 10, 2))  # as written in France
        rows.append(["Ann" if n % 7 else "Bob", f"N{n}", national, "",
                     f"P{n}@Example.org" if n % 3 == 0 else "", f"{n // 2} rue  haute",
                     "Lyon", "donor"])
    # the same person by email (another first name would be another person: test_same_person)
    rows.append(["ann", "", "+33 7 81 23 45 67", "", "p999@example.org", "", "", ""])
    rows.append(["", "", _fr(2999), _fr(5), "", "", "", ""])  # 2999 again; 5 is someone else's
    rows.append(["", "", "n/a", "", "", "", "", ""])
    rows.append(["Zed", "New", _fr(7000), "", "", "10, rue Haute", "Lyon", ""])  # joins 20, 21
    second = tmp_path / "second.csv"
    _write_people(second, rows)
    report_path = tmp_path / "second.report.csv"
    summary, _ = import_contacts(db.session, org.id, second, chunk_rows=250, workers=2,
                                 default_region="FR",
                                 report_path=report_path)
    assert (summary.created, summary.merged, summary.rejected) == (1001, 1002, 1)
    assert summary.suppressed == 1
    assert summary.households == 500  # Zed's address is already a household
    assert count(Contact, org) == 3001
    assert count(ContactPhone, org) == 3002  # Ann's new number joined contact 999

    existing = contact_by_phone(org, _fr(1001))
    assert existing.first_name == "Ann" and sorted(t.name for t in existing.tags) == [
        "donor", "member"]
    assert existing.household_id == contact_by_phone(org, _fr(1000)).household_id
    kept = contact_by_phone(org, _fr(1008))  # row said Bob: kept Ann, reported
    assert kept.first_name == "Ann"
    by_email = contact_by_phone(org, "+33781234567")
    assert by_email.id == contact_by_phone(org, _fr(999)).id
    assert [p.e164 for p in by_email.phones] == [_fr(999), "+33781234567"]
    assert by_email.email == "p999@example.org" and by_email.first_name == "Ann"
    new = contact_by_phone(org, _fr(2999))
    assert new.last_name == "N2999" and [t.name for t in new.tags] == ["donor"]
    assert new.household_id == contact_by_phone(org, _fr(2998)).household_id
    assert contact_by_phone(org, _fr(2500)).do_not_contact is True
    assert contact_by_phone(org, _fr(5)).last_name == "N5"  # not moved
    assert contact_by_phone(org, _fr(7000)).household_id == \
        contact_by_phone(org, _fr(20)).household_id is not None

    report = {int(r["row"]): (r["status"], r["reason"]) for r in report_lines(report_path)}
    assert report[1008 - 1000 + 2] == ("warning", "First name: kept Ann (file had Bob)")
    assert report[2001 + 2] == ("warning", f"number {_fr(5)} belongs to another contact, "
                                           "not added")
    assert report[2002 + 2][0] == "rejected"
    assert db.session.scalar(select(func.count()).select_from(Household)
                             .where(Household.organization_id == org.id)) == 1500


def _sqlite_pragma(name: str):
    return db.session.connection().exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_wal_is_checkpointed_aside_during_an_import(app, factories, tmp_path,
                                                           monkeypatch):
    """On SQLite the import's commits are checkpointed by a thread of their own; afterwards
    automatic checkpoints are back as they were and the WAL file is empty."""
    from ringround.people import import_sqlite, importer

    organization, _admin = factories.org_with_admin()
    before = _sqlite_pragma("wal_autocheckpoint")
    checkpoints = []
    stop = import_sqlite.Checkpointer.stop

    def counting_stop(self):
        stop(self)
        checkpoints.append(self.checkpoints)

    monkeypatch.setattr(import_sqlite.Checkpointer, "stop", counting_stop)
    monkeypatch.setattr(importer, "COMMIT_SECONDS", 0)  # a commit after every chunk
    path = tmp_path / "people.csv"
    _write_people(path, [["Ann", f"N{n}", _fr(n), "", "", "", "", ""] for n in range(600)])
    summary, _ = import_contacts(db.session, organization.id, path, chunk_rows=100,
                                 default_region="FR")
    assert summary.created == 600 and count(Contact, organization) == 600
    assert checkpoints and checkpoints[0] >= 2  # after commits, and a last one
    assert _sqlite_pragma("wal_autocheckpoint") == before
    database = next(row[2] for row in db.session.connection().exec_driver_sql(
        "PRAGMA database_list") if row[1] == "main")
    assert Path(database + "-wal").stat().st_size == 0  # truncated at the end
    db.session.commit()
    busy, frames, copied = db.session.connection().exec_driver_sql(
        "PRAGMA wal_checkpoint(PASSIVE)").one()
    assert busy == 0 and frames == copied


def test_a_failing_checkpoint_is_logged_and_loses_nothing(app, factories, tmp_path,
                                                          monkeypatch, caplog):
    """A checkpoint that fails leaves its frames in the WAL: the import completes, every row
    is there, and the failure is in the log."""
    import sqlite3

    from ringround.people import import_sqlite

    class Broken:
        def execute(self, _sql):
            raise sqlite3.OperationalError("disk I/O error")

        def close(self):
            pass

    monkeypatch.setattr(import_sqlite.Checkpointer, "_connect", lambda self: Broken())
    organization, _admin = factories.org_with_admin()
    path = tmp_path / "people.csv"
    _write_people(path, [["Ann", f"N{n}", _fr(n), "", "", "", "", ""] for n in range(300)])
    with caplog.at_level("WARNING", logger="ringround.people.importer"):
        summary, _ = import_contacts(db.session, organization.id, path, chunk_rows=100,
                                     default_region="FR")
    assert summary.created == 300 and count(Contact, organization) == 300
    assert "WAL checkpoint failed" in caplog.text and "disk I/O error" in caplog.text


def test_workers_reading_the_file_give_the_same_report(org, run_import, any_app, factories):
    """Workers that read the CSV themselves: same counts, and the same report, rejected
    rows' original cells included, as one process reading it."""
    alone, alone_report = run_import(org, "fr_semicolons_cp1252.csv", default_region="FR",
                                     workers=1)
    other, _admin = factories.org_with_admin()
    pooled, pooled_report = run_import(other, "fr_semicolons_cp1252.csv",
                                       default_region="FR", workers=3, chunk_rows=2)
    assert pooled.as_dict() == alone.as_dict()
    assert pooled_report == alone_report


def test_a_failing_worker_fails_the_import_with_its_traceback(tmp_path):
    """A worker's exception reaches the importer (with the worker's traceback) instead of
    the import hanging or quietly skipping that worker's chunks."""
    from ringround.people.import_workers import ImportWorkerError, csv_read_by_workers
    from ringround.people.normalize import NormalizeConfig
    from ringround.people.reader import TableSource

    missing = TableSource(tmp_path / "gone.csv", "csv", ["Phone"], 10, "utf-8", ",")
    config = NormalizeConfig(("phone",), "FR", b"k" * 32)
    with pytest.raises(ImportWorkerError, match="FileNotFoundError"):
        list(csv_read_by_workers(missing, config, 2, 5))


def test_rows_of_two_imports_interleaved_each_follow_their_own_mapping():
    """Imports in web threads may clean rows in turn: each row follows its own column
    mapping and default region (the plan kept between rows is per mapping)."""
    from ringround.people.normalize import NormalizeConfig, normalize_row

    by_name = NormalizeConfig(("first_name", "phone", "ignore"), "FR", b"k" * 32)
    by_city = NormalizeConfig(("city", "ignore", "mobile"), "SE", b"k" * 32)
    for _ in range(2):
        french = normalize_row(2, ["Élodie", "06 12 34 56 78", "070-123 45 67"], by_name)
        swedish = normalize_row(2, ["Göteborg", "06 12 34 56 78", "070-123 45 67"], by_city)
        assert french[1][0] == "Élodie" and french[1][5] is None
        assert [p[0] for p in french[2]] == ["+33612345678"]
        assert swedish[1][0] is None and swedish[1][5] == "Göteborg"
        assert [(p[0], p[2]) for p in swedish[2]] == [("+46701234567", "mobile")]
