"""The audit log: its console page for admins (in their language, a page at a time, by kind
and dates), its CSV download (itself audited, formula-safe) and `flask audit list`."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlalchemy import select

from ringround.accounts import create_password_user
from ringround.audit import record_audit
from ringround.models import AuditEntry, Contact, OperationMember, OperationRole
from tests.conftest import post_form
from tests.factories import PASSWORD, login

PARIS = ZoneInfo("Europe/Paris")


def _org(db, factories, language: str = "fr"):
    org, admin = factories.org_with_admin(name="Lyon Nord")
    org.time_zone = "Europe/Paris"
    admin.language = language
    db.session.commit()
    return org, admin


def _entries(db, org, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.organization_id == org.id, AuditEntry.action == action)))


def test_an_admin_reads_an_export_and_an_erasure_in_french(app, client, db, factories):
    org, admin = _org(db, factories)
    organizer = factories.organizer(org, admin)
    emma = factories.contact(org, first_name="Emma", last_name="Zorglub",
                             email="emma.zorglub@example.org", phone="+14155550199")
    kept = factories.contact(org, first_name="Kept")
    emma_id, kept_id = emma.id, kept.id
    login(client, organizer)
    post_form(client, f"/console/contacts/{kept_id}/do-not-contact", {"value": "1"},
              page=f"/console/contacts/{kept_id}")
    page = "/console/contacts/"
    response = post_form(client, "/console/contacts/export", {"list_name": "Tous"}, page=page)
    assert response.status_code == 200 and "Emma" in response.get_data(as_text=True)
    post_form(client, f"/console/contacts/{emma_id}/erase", {"confirm": "erase"},
              page=f"/console/contacts/{emma_id}")
    assert db.session.get(Contact, emma_id) is None

    other = app.test_client()
    login(other, admin)
    html = other.get("/console/audit/").get_data(as_text=True)
    assert "Journal d’audit" in html
    assert "Contacts exportés" in html and "Contact effacé" in html
    assert f"par {organizer.display_name}" in html
    assert "contact effacé" in html
    assert "2 contacts" in html
    assert f'<a href="/console/contacts/{kept_id}">Kept</a>' in html  # still here: a link
    # Nothing the erasure removed: no name, no email, no number, no link to the contact.
    for gone in ("Zorglub", "emma.zorglub", "4155550199", "415 555 0199",
                 f"/console/contacts/{emma_id}"):
        assert gone not in html
    erased_at = _entries(db, org, "contact.erased")[0].created_at.astimezone(PARIS)
    assert format_skeleton("Hm", erased_at, locale="fr") in html
    assert "contact.erased" not in html and "contacts.exported" not in html


def test_organizers_and_volunteers_are_refused_and_see_no_link(app, client, db, factories):
    org, admin = _org(db, factories, language="en")
    organizer = factories.organizer(org, admin)
    agent = create_password_user(db.session, email="agent@example.org", password=PASSWORD,
                                 display_name="Agent")
    op = factories.operation(org, owner=admin)
    op.members.append(OperationMember(user_id=agent.id, role=OperationRole.AGENT))
    db.session.commit()
    for user in (organizer, agent):
        browser = app.test_client()
        login(browser, user)
        assert browser.get("/console/audit/").status_code == 403
        assert browser.get("/console/audit/audit-log.csv").status_code == 403
    login(client, organizer)
    contacts = client.get("/console/contacts/").get_data(as_text=True)
    assert "Exports are recorded in the audit log." in contacts
    assert "/console/audit/" not in contacts
    assert "Audit log" not in client.get("/console/").get_data(as_text=True)

    client = app.test_client()
    login(client, admin)
    contacts = client.get("/console/contacts/").get_data(as_text=True)
    assert re.search(r'<a href="/console/audit/\?kind=exports">Exports are recorded in the '
                     r"audit log.</a>", contacts)
    assert '<a href="/console/audit/">Audit log</a>' in client.get("/console/").get_data(
        as_text=True)


def _many(db, org, admin, n: int, start: datetime) -> None:
    """`n` entries a minute apart, every fifth an erasure, the rest settings changes."""
    for i in range(n):
        entry = record_audit(db.session, org.id, admin.id,
                             "contact.erased" if i % 5 == 0 else "organization.settings_changed",
                             "organization", org.id, {"changed": ["name"]})
        entry.created_at = start + timedelta(minutes=i)
    db.session.commit()


def _shown_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="entry-(\d+)"', html)]


def test_pages_go_newest_first_without_repeats_and_filter_by_kind_and_day(
        client, db, factories):
    org, admin = _org(db, factories, language="en")
    before = {e.id for e in db.session.scalars(select(AuditEntry))}
    _many(db, org, admin, 120, datetime(2026, 10, 31, 22, 0, tzinfo=UTC))
    login(client, admin)
    seen, url, pages = [], "/console/audit/", 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += _shown_ids(html)
        pages += 1
        found = re.search(r'rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == 3
    ours = [i for i in seen if i not in before]
    assert len(ours) == 120 and len(set(seen)) == len(seen)
    times = [db.session.get(AuditEntry, i).created_at for i in ours]
    assert times == sorted(times, reverse=True)

    html = client.get("/console/audit/?kind=erasures").get_data(as_text=True)
    shown = [db.session.get(AuditEntry, i) for i in _shown_ids(html)]
    assert len(shown) == 24 and {e.action for e in shown} == {"contact.erased"}
    # 31 October 22:00 UTC is 23:00 in Paris: 1 November there holds the last 60 entries.
    html = client.get("/console/audit/?since=2026-11-01&until=2026-11-01").get_data(
        as_text=True)
    assert 'rel="next"' in html  # 60 entries: more than a page
    html = client.get("/console/audit/?kind=erasures&since=2026-11-01&until=2026-11-01"
                      ).get_data(as_text=True)
    assert len(_shown_ids(html)) == 12
    assert "No entry matches." in client.get("/console/audit/?since=2026-12-25").get_data(
        as_text=True)


def test_the_csv_download_is_formula_safe_in_the_readers_language_and_audited(
        client, db, factories):
    org, admin = _org(db, factories, language="fr")
    admin.display_name = "=HYPERLINK(\"http://evil\")"
    op = factories.operation(org, owner=admin, name="@SUM(A1)")
    record_audit(db.session, org.id, admin.id, "operation.paused", "operation", op.id)
    db.session.commit()
    login(client, admin)
    response = client.get("/console/audit/audit-log.csv?kind=operations")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "time", "action", "description", "by", "object", "details"]
    assert [row[2:6] for row in rows[1:]] == [
        ["operation.paused", "Opération mise en pause", "'=HYPERLINK(\"http://evil\")",
         "'@SUM(A1)"]]
    assert rows[1][1].endswith("+01:00")  # the organization's time zone (winter)
    exported = _entries(db, org, "audit.exported")
    assert [(e.actor_id, e.details["rows"], e.details["kind"]) for e in exported] == [
        (admin.id, 1, "operations")]


def test_the_cli_lists_an_organizations_entries(runner, db, factories):
    org, admin = _org(db, factories, language="fr")
    person = factories.contact(org, first_name="Ana")
    result = runner.invoke(args=["contacts", "erase", "--id", str(person.id), "--org", org.slug,
                                 "--yes"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["audit", "list", "--org", org.slug, "--action", "erasures"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "Erased a contact [contact.erased]" in lines[0] and "command line" in lines[0]
    assert "erased contact" in lines[0] and "Ana" not in lines[0]
    result = runner.invoke(args=["audit", "list", "--org", org.slug, "--since", "2999-01-01"])
    assert result.output.strip() == "No entry matches."
    result = runner.invoke(args=["audit", "list", "--action", "organization.created"])
    assert "Created the organization [organization.created]" in result.output
    assert f"by {admin.display_name}" in result.output
