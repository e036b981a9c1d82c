"""The one "same person?" rule for contacts that share an email (a family address), as imports
and sign-ups apply it: clearly different first names give two contacts in one household."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone
from ringround.people.importer import import_contacts
from ringround.people.merge import same_person, upsert_contact
from tests.core.people.conftest import report_lines


@pytest.mark.parametrize("one, other", [
    ("Jean", "jean"), ("Élodie", "ELODIE"), ("J.", "Jean"), ("Jean-Pierre", "Jean"),
    ("Bob", "Robert"), ("Liz", "Elizabeth"), ("Bea", "Beatrice"), ("Chris", "Christophe"),
    (None, "Marie"), ("", "Marie"), ("Ann", None),
])
def test_case_accents_initials_compounds_and_short_forms_are_the_same_person(one, other):
    assert same_person(one, other) and same_person(other, one)


@pytest.mark.parametrize("one, other", [
    ("Jean", "Marie"), ("Jean", "Jeanne"), ("Louis", "Louise"), ("Ann", "Eve"), ("Jo", "Joanna"),
])
def test_clearly_different_first_names_are_two_people(one, other):
    assert not same_person(one, other) and not same_person(other, one)


def _write(path, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("First name;Last name;Phone;Email;Address;City\n")
        handle.writelines(";".join(row) + "\n" for row in rows)


def _by_phone(org, e164):
    return db.session.scalar(select(Contact).join(ContactPhone).where(
        ContactPhone.organization_id == org.id, ContactPhone.e164 == e164))


def _report(path):
    return {int(r["row"]): (r["status"], r["reason"]) for r in report_lines(path)}


def test_import_keeps_a_family_sharing_an_email_apart_in_one_household(org, tmp_path):
    path, report = tmp_path / "family.csv", tmp_path / "family.report.csv"
    _write(path, [
        ["Jean", "Dupont", "+33 6 12 34 56 78", "famille@example.org", "", ""],
        ["Marie", "Dupont", "+33 6 98 76 54 32", "Famille@example.org", "", ""],
        ["MARIE", "Dupont", "+33 6 11 11 11 11", "famille@example.org", "", ""],  # Marie
        ["Élodie", "Roux", "+33 7 81 23 45 01", "roux@example.org", "3 rue Haute", "Lyon"],
        ["Elodie", "Roux", "+33 7 81 23 45 02", "roux@example.org", "", ""],  # the same
    ])
    summary, _ = import_contacts(db.session, org.id, path, report_path=report)
    assert (summary.created, summary.merged, summary.kept_apart) == (3, 2, 1)

    jean, marie = _by_phone(org, "+33612345678"), _by_phone(org, "+33698765432")
    assert jean.id != marie.id
    assert [p.e164 for p in jean.phones] == ["+33612345678"]  # no number moved to Jean
    assert [p.e164 for p in marie.phones] == ["+33698765432", "+33611111111"]
    assert (jean.first_name, marie.first_name) == ("Jean", "Marie")
    assert jean.household_id == marie.household_id is not None
    elodie = _by_phone(org, "+33781234502")
    assert elodie.id == _by_phone(org, "+33781234501").id
    assert _report(report) == {3: ("warning", (
        "same email as row 2 (Jean) but another first name (Marie): kept as a separate "
        "contact, in the same household")),
        6: ("warning", "First name: kept Élodie (file had Elodie)")}  # merged, remark only


def test_import_keeps_a_new_person_apart_from_a_contact_already_there(org, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    _write(first, [["Jean", "Dupont", "+33 6 12 34 56 78", "famille@example.org", "", ""]])
    import_contacts(db.session, org.id, first)
    jean = _by_phone(org, "+33612345678")
    assert jean.household_id is None
    _write(second, [
        ["Paul", "Dupont", "+33 6 22 22 22 22", "famille@example.org", "", ""],
        ["jean", "Dupont", "+33 6 33 33 33 33", "famille@example.org", "", ""],  # Jean
    ])
    report = tmp_path / "second.report.csv"
    summary, _ = import_contacts(db.session, org.id, second, workers=2, report_path=report)
    assert (summary.created, summary.merged, summary.kept_apart) == (1, 1, 1)
    db.session.expire_all()
    jean, paul = _by_phone(org, "+33612345678"), _by_phone(org, "+33622222222")
    assert paul.id != jean.id and paul.first_name == "Paul"
    assert [p.e164 for p in jean.phones] == ["+33612345678", "+33633333333"]
    assert jean.household_id == paul.household_id is not None
    assert _report(report)[2] == ("warning", (
        f"same email as contact #{jean.id} (Jean) but another first name (Paul): kept as a "
        "separate contact, in the same household"))


def test_sign_up_with_a_family_email_keeps_both_people(org):
    jean, created = upsert_contact(db.session, org.id, {
        "first_name": "Jean", "email": "famille@example.org"}, ["+33612345678"], [], "form:1")
    marie, created = upsert_contact(db.session, org.id, {
        "first_name": "Marie", "email": "famille@example.org"}, ["+33698765432"], [], "form:1")
    assert created and marie.id != jean.id
    assert [p.e164 for p in jean.phones] == ["+33612345678"]
    assert jean.household_id == marie.household_id is not None
    again, created = upsert_contact(db.session, org.id, {
        "first_name": "marie", "email": "FAMILLE@example.org"}, ["+33611111111"], [], "sms:J")
    assert not created and again.id == marie.id
    assert [p.e164 for p in marie.phones] == ["+33698765432", "+33611111111"]


def test_an_email_first_seen_on_a_row_matched_by_number_is_checked_against_its_contact(
        org, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    _write(first, [["Jean", "Dupont", "+33 6 12 34 56 78", "", "", ""]])
    import_contacts(db.session, org.id, first)
    _write(second, [
        ["Jean", "Dupont", "+33 6 12 34 56 78", "famille@example.org", "", ""],  # by number
        ["Marie", "Dupont", "+33 6 98 76 54 32", "famille@example.org", "", ""],
        ["J.", "Dupont", "+33 6 33 33 33 33", "famille@example.org", "", ""],  # Jean
    ])
    summary, _ = import_contacts(db.session, org.id, second)
    assert (summary.created, summary.merged, summary.kept_apart) == (1, 2, 1)
    db.session.expire_all()
    jean, marie = _by_phone(org, "+33612345678"), _by_phone(org, "+33698765432")
    assert [p.e164 for p in jean.phones] == ["+33612345678", "+33633333333"]
    assert marie.id != jean.id and jean.email == marie.email == "famille@example.org"
    assert jean.household_id == marie.household_id is not None
