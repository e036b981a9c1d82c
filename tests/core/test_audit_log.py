"""Reading the audit log (ringround/audit_log.py): entries in words, who acted when no member
did, an erased contact never shown as whoever took its id, pages read from the index."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from sqlalchemy import text

from ringround.audit import record_audit
from ringround.audit_log import (
    ACTIONS,
    AuditFilter,
    Words,
    _after_cursor,
    _query,
    audit_page,
    days_filter,
)
from ringround.models import Contact
from ringround.optouts import opt_out
from ringround.people.contacts import set_do_not_contact
from ringround.people.erasure import erase_contact

ROOT = Path(__file__).resolve().parents[2]


def test_every_action_the_code_writes_has_words():
    """A new `record_audit(session, org, actor, "x.y", ...)` without its line in ACTIONS
    fails here (the page would say "Unknown action")."""
    written = set()
    for path in [p for folder in ("ringround", "pwa", "sms", "sharing", "web")
                 for p in (ROOT / folder).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "record_audit" \
                    and len(node.args) > 3:
                written |= {c.value for c in ast.walk(node.args[3])
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert {"contact.erased", "contacts.exported", "optout.added", "phone.opted_in"} <= written
    assert written - set(ACTIONS) == set()


def test_unknown_actions_and_non_member_actors_are_said_in_words(app, db, factories):
    org, admin = factories.org_with_admin()
    record_audit(db.session, org.id, None, "robot.danced")
    opt_out(db.session, org.id, "+16175550101", "sms_stop")
    opt_out(db.session, org.id, "+16175550102", "voice_stop")
    db.session.commit()
    with app.test_request_context():
        rows = audit_page(db.session, org.id, AuditFilter()).rows
    said = [(row.label, row.actor) for row in rows[:3]]
    assert said == [("Opted out a number", "by phone"),
                    ("Opted out a number", "by text message"),
                    ("Unknown action (robot.danced)", "Ringround (automatic)")]


def test_an_erased_contacts_entries_never_show_who_took_its_id(app, db, factories):
    org, admin = factories.org_with_admin()
    emma = factories.contact(org, first_name="Emma", last_name="Zorglub")
    emma_id = emma.id
    set_do_not_contact(db.session, emma, True, admin.id)
    db.session.commit()
    erase_contact(db.session, emma, admin.id)
    # SQLite gives the highest id again: the next contact may be a new Emma id.
    newcomer = Contact(id=emma_id, organization_id=org.id, first_name="Noor")
    db.session.add(newcomer)
    set_do_not_contact(db.session, newcomer, True, admin.id)
    db.session.commit()
    with app.test_request_context():
        rows = audit_page(db.session, org.id, AuditFilter()).rows
    about = [(row.action, row.subject.kind, row.subject.name) for row in rows
             if row.action in {"contact.do_not_contact", "contact.erased"}]
    assert about == [("contact.do_not_contact", "contact", "Noor"),
                     ("contact.erased", "erased_contact", ""),
                     ("contact.do_not_contact", "erased_contact", "")]


def test_pages_are_read_from_the_index_without_sorting(app, db, factories):
    org, admin = factories.org_with_admin()
    for n in range(3):
        record_audit(db.session, org.id, admin.id, "operation.paused", details={"n": n})
    db.session.commit()
    cursor = audit_page(db.session, org.id, AuditFilter(), size=1).next_cursor
    assert cursor
    for flt in (AuditFilter(), AuditFilter("erasures"),
                days_filter("exports", date(2026, 1, 1), date(2026, 2, 1), "Europe/Paris")):
        query = _after_cursor(_query(org.id, flt), cursor).limit(51)
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "ix_audit_entries_org_created" in plan and "TEMP B-TREE" not in plan, plan


def test_words_are_said_once_in_the_language_asked(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fr"):
        words = Words.now()
    assert words.action("contact.erased") == "Contact effacé"
    assert words.action("nope.nope") == "Action inconnue (nope.nope)"
    assert words.actors["sms_stop"] == "par SMS"


def test_days_are_the_organizations_days(app):
    flt = days_filter("nonsense", date(2026, 7, 1), date(2026, 7, 1), "Europe/Stockholm")
    assert flt.kind is None
    assert (flt.since.isoformat(), flt.until.isoformat()) == (
        "2026-06-30T22:00:00+00:00", "2026-07-01T22:00:00+00:00")


def test_keyset_pages_on_both_databases(any_app):
    """Entries with the same time (one transaction) are neither repeated nor skipped."""
    from datetime import UTC, datetime

    from ringround.extensions import db
    from tests import factories

    org, admin = factories.org_with_admin()
    same = datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)
    for n in range(7):
        entry = record_audit(db.session, org.id, admin.id, "operation.paused", details={"n": n})
        entry.created_at = same
    db.session.commit()
    flt, seen, cursor = AuditFilter("operations"), [], None
    with any_app.test_request_context():
        while True:
            page = audit_page(db.session, org.id, flt, cursor, size=3)
            seen += [row.details["n"] for row in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == [6, 5, 4, 3, 2, 1, 0]
