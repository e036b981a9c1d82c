"""Filters and lists, CSV and right-of-access exports, erasure: SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import (
    Attempt,
    AuditEntry,
    Contact,
    ContactPhone,
    Household,
    OptOut,
    Target,
    TargetState,
    utcnow,
)
from ringround.optouts import is_opted_out
from ringround.people.erasure import erase_contact
from ringround.people.export import export_csv, person_data
from ringround.people.filters import bulk_tag, count_matching, save_list
from ringround.people.merge import upsert_contact


@pytest.fixture
def imported(org, run_import):
    run_import(org, "fr_semicolons_cp1252.csv", default_region="FR")
    run_import(org, "se_tabs_bom.csv", default_region="SE")
    return org


def by_phone(org, e164):
    return db.session.scalar(select(Contact).join(ContactPhone).where(
        ContactPhone.organization_id == org.id, ContactPhone.e164 == e164))


@pytest.mark.parametrize("filter_, expected", [
    ({}, 8),
    ({"tags_any": ["membre", "medlem"]}, 3),
    ({"tags_all": ["bénévole", "donatrice"]}, 1),
    ({"tags_none": ["membre"]}, 6),
    ({"city": "paris"}, 2),
    ({"postcode_prefix": "750"}, 2),
    ({"country": "fr"}, 2),
    ({"fields": [{"field": "email", "op": "contains", "value": "EXAMPLE.ORG"}]}, 4),
    ({"fields": [{"field": "membre_depuis", "op": "equals", "value": "2021"}]}, 1),
    ({"has_mobile": True}, 7),
    ({"created_since": "2000-01-01"}, 8),
    ({"not_called_days": 7}, 8),
])
def test_filters_count(imported, filter_, expected):
    assert count_matching(db.session, imported.id, filter_) == expected


def test_not_called_for_n_days_uses_attempts(imported, factories):
    elodie = by_phone(imported, "+33612345678")
    op = factories.operation(imported)
    db.session.add(Attempt(client_id="a1", operation_id=op.id, contact_id=elodie.id,
                           created_at=utcnow() - timedelta(days=3)))
    db.session.commit()
    assert count_matching(db.session, imported.id, {"not_called_days": 7}) == 7
    assert count_matching(db.session, imported.id, {"not_called_days": 2}) == 8


def test_saved_list_and_bulk_tag_untag(imported):
    saved = save_list(db.session, imported.id, "Paris", {"city": "Paris", "junk": 1})
    assert saved.filter == {"city": "Paris"}
    assert bulk_tag(db.session, imported.id, saved.filter, "canvass") == 2
    assert bulk_tag(db.session, imported.id, saved.filter, "canvass") == 0  # already tagged
    assert count_matching(db.session, imported.id, {"tags_any": ["canvass"]}) == 2
    assert bulk_tag(db.session, imported.id, {}, "canvass", add=False) == 2
    assert count_matching(db.session, imported.id, {"tags_any": ["canvass"]}) == 0


def test_export_csv_has_e164_numbers_and_extensions_apart_and_is_audited(imported):
    out = io.StringIO()
    assert export_csv(db.session, imported.id, out, filter={"country": "FR"}) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    numbers = {(r["first_name"], r["phone_1"], r["phone_2"]) for r in rows}
    assert numbers == {("Élodie", "+33123456789", "+33612345678"),
                       ("François", "+33612345679", "")}
    elodie = next(r for r in rows if r["first_name"] == "Élodie")
    assert (elodie["phone_1_extension"], elodie["phone_2_extension"]) == ("12", "")
    assert elodie["tags"] == "bénévole,donatrice" and elodie["membre_depuis"] == "2019"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contacts.exported"))
    assert entry.details["count"] == 2 and entry.organization_id == imported.id


def test_exported_csv_imports_back_into_another_organization(imported, factories, tmp_path):
    from ringround.people.importer import import_contacts

    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        export_csv(db.session, imported.id, handle)
    other, _ = factories.org_with_admin()
    summary, _ = import_contacts(db.session, other.id, out)
    assert (summary.created, summary.rejected) == (8, 0)
    assert by_phone(other, "+16175550143").phones[0].extension == "123"


def test_erasure_deletes_personal_data_and_keeps_anonymous_counts(imported, factories):
    elodie = by_phone(imported, "+33612345678")
    francois = by_phone(imported, "+33612345679")
    household_id = elodie.household_id
    elodie.do_not_contact = True
    op = factories.operation(imported)
    target = Target(operation_id=op.id, contact_id=elodie.id, time_zone="Europe/Paris")
    other_op = factories.operation(imported, name="Done already")
    finished = Target(operation_id=other_op.id, contact_id=elodie.id, state=TargetState.DONE,
                      attempts=2)
    db.session.add_all([target, finished])
    db.session.flush()
    db.session.add(Attempt(client_id="e1", operation_id=op.id, target_id=target.id,
                           contact_id=elodie.id, disposition="talked", notes="lives with Fran",
                           answers={"q1": "yes"}, field_updates={"city": "Lyon"}))
    db.session.commit()
    elodie_id = elodie.id

    counts = erase_contact(db.session, elodie, actor_id=None)
    assert counts == {"phones": 2, "attempts_anonymized": 1, "targets_anonymized": 2,
                      "optouts_kept": 2, "texts_deleted": 0, "import_files_deleted": 0}
    db.session.expire_all()
    assert db.session.get(Contact, elodie_id) is None
    assert db.session.scalar(select(func.count()).select_from(ContactPhone).where(
        ContactPhone.e164 == "+33612345678")) == 0
    attempt = db.session.scalar(select(Attempt).where(Attempt.client_id == "e1"))
    assert (attempt.contact_id, attempt.notes, attempt.answers, attempt.field_updates,
            attempt.disposition) == (None, None, {}, {}, "talked")
    target = db.session.get(Target, target.id)
    # The person's own zone is not kept: erased targets fall back to the neutral "UTC".
    assert (target.contact_id, target.state, target.time_zone) == (None, TargetState.REMOVED,
                                                                   "UTC")
    finished = db.session.get(Target, finished.id)
    assert (finished.contact_id, finished.state, finished.attempts) == (None, TargetState.DONE,
                                                                        2)
    assert is_opted_out(db.session, imported.id, "+33612345678")
    assert db.session.get(Household, household_id) is not None  # François still lives there
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.erased"))
    assert entry.subject_id == elodie_id and "Élodie" not in str(entry.details)

    erase_contact(db.session, francois, actor_id=None)
    assert db.session.get(Household, household_id) is None  # the address hash goes too


def test_erased_person_who_opted_out_stays_suppressed_on_reimport(imported, run_import):
    inès = by_phone(imported, "+33798765432")
    inès.do_not_contact = True
    db.session.commit()
    erase_contact(db.session, inès, actor_id=None)
    summary, _ = run_import(imported, "fr_semicolons_cp1252.csv", default_region="FR")
    assert summary.suppressed == 1
    assert by_phone(imported, "+33798765432").do_not_contact is True
    assert db.session.scalar(select(func.count()).select_from(OptOut)) == 1


def test_right_of_access_json_holds_everything_and_is_audited(imported, factories):
    emma = by_phone(imported, "+16175550143")
    op = factories.operation(imported, name="Spring canvass")
    db.session.add(Attempt(client_id="x1", operation_id=op.id, contact_id=emma.id,
                           disposition="talked", notes="call after 6"))
    db.session.commit()
    data = person_data(db.session, emma, actor_id=None)
    assert data["contact"]["email"] == "emma@example.com"
    assert [p["number"] for p in data["phones"]] == ["+16175550143", "+14155550199"]
    assert data["tags"] == ["donor"]
    assert data["calls"][0]["operation"] == "Spring canvass"
    assert data["calls"][0]["notes"] == "call after 6"
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.subject_id == emma.id)) == "contact.access_exported"


def test_upsert_contact_follows_the_import_merge_rules(imported):
    imported.default_region = "FR"  # national numbers are read as French
    contact, created = upsert_contact(
        db.session, imported.id, {"first_name": "Elodie", "city": "Lyon", "language": "French"},
        ["06.12.34.56.78"], ["signup"], "form:1",
        consent={"channel": "sms", "text": "I agree to be called", "text_version": "v1"})
    assert created is False
    assert contact.first_name == "Élodie"  # not overwritten
    assert contact.city == "Paris" and contact.language == "fr"  # filled the empty one
    assert {"signup", "bénévole"} <= {t.name for t in contact.tags}
    assert contact.consents[0].text == "I agree to be called"
    new, created = upsert_contact(db.session, imported.id, {"first_name": "Nadia"},
                                  ["+33 6 99 88 77 66"], [], "sms:JOIN")
    assert created and new.phones[0].e164 == "+33699887766" and new.time_zone == "Europe/Paris"
    with pytest.raises(ValueError, match="no valid phone"):
        upsert_contact(db.session, imported.id, {"first_name": "X"}, ["12"], [], "form:1")


def test_erasure_keeps_the_counts_of_people_reached(imported, factories):
    """The dashboard, the per-caller table and the caller's own day still count a person who
    was reached after that person is erased (the flash promises anonymous counts)."""
    from ringround.models import DispositionGroup
    from ringround.operation_stats import agent_counts, operation_figures
    from ringround.queue import stats_for_agent

    agent = factories.phone_user("Vera")
    op = factories.operation(imported)
    now = utcnow()
    for n, phone in enumerate(("+33612345678", "+33798765432")):
        person = by_phone(imported, phone)
        target = Target(operation_id=op.id, contact_id=person.id, state=TargetState.DONE)
        db.session.add(target)
        db.session.flush()
        db.session.add(Attempt(client_id=f"r{n}", operation_id=op.id, target_id=target.id,
                               contact_id=person.id, agent_id=agent.id, disposition="talked",
                               disposition_group=DispositionGroup.CONTACTED,
                               recorded_at=now, created_at=now))
    db.session.commit()

    def figures():
        dashboard = operation_figures(db.session, op, now=now + timedelta(seconds=1))
        mine = stats_for_agent(db.session, op.id, agent.id, now.date())
        per_agent = agent_counts(db.session, op.id)[0]
        return (dashboard.reached_today, dashboard.reached_total, per_agent["reached"],
                mine.people_reached, dashboard.calls_total)

    assert figures() == (2, 2, 2, 2, 2)
    erase_contact(db.session, by_phone(imported, "+33612345678"), actor_id=None)
    db.session.commit()
    assert figures() == (2, 2, 2, 2, 2)
