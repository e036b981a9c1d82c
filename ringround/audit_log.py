"""Reading the audit log: an organization's entries newest first, a page at a time, by kind
of action and date range, each said in words (`ACTIONS`), and the log as CSV rows.

Pages go by keyset (the last entry's time and id), never by a count or an offset: one range
of the index (organization_id, created_at, id), however long the log. Entries hold no
personal data (`record_audit`); a contact's name is read from the contact while it exists,
and an entry older than that contact's erasure says "erased contact", whoever took the id
since.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import AuditEntry, Contact, Operation, OrgRole, User

# Who reads the log: the organization's admins. It names every member and what each did
# with people's data (organizers' exports and erasures among them), like the members page,
# which is theirs too (docs/permissions.md).
AUDIT_READERS = (OrgRole.ADMIN,)
PAGE_SIZE = 50
CURSOR_TIME = "%Y%m%dT%H%M%S%f"
ERASED = "contact.erased"


@dataclass(frozen=True)
class Action:
    kind: str
    label: LazyString


# Every action `record_audit` writes, in words: the one table of them (an unknown action is
# shown as such, with its code).
ACTIONS: dict[str, Action] = {
    "contacts.exported": Action("exports", _l("Exported contacts")),
    "operation.results_exported": Action("exports", _l("Exported an operation's results")),
    "contact.access_exported": Action("exports", _l("Exported a contact's data (access request)")),
    "audit.exported": Action("exports", _l("Exported the audit log")),
    ERASED: Action("erasures", _l("Erased a contact")),
    "optout.added": Action("optouts", _l("Opted out a number")),
    "optout.lifted": Action("optouts", _l("Lifted an opt-out")),
    "optout.texts_added": Action("optouts", _l("Opted out a number from texts")),
    "contact.do_not_contact": Action("optouts", _l("Marked a contact do not contact")),
    "contact.may_contact": Action("optouts", _l("Lifted a contact's do not contact")),
    "phone.opted_out": Action("optouts", _l("Opted out a contact's number")),
    "phone.opted_in": Action("optouts", _l("Lifted a number's opt-out")),
    "organization.created": Action("settings", _l("Created the organization")),
    "organization.settings_changed": Action("settings", _l("Changed the settings")),
    "telephony.settings_changed": Action("settings", _l("Changed the phone line's settings")),
    "member.added": Action("members", _l("Added an organization member")),
    "operation.member_added": Action("members", _l("Added a member to an operation")),
    "operation.member_role": Action("members", _l("Changed an operation member's role")),
    "operation.member_removed": Action("members", _l("Removed a member from an operation")),
    "join_link.created": Action("members", _l("Made a join link")),
    "join_link.revoked": Action("members", _l("Revoked a join link")),
    "join_link.used": Action("members", _l("Joined through a link")),
    "signin_link.created": Action("members", _l("Made a sign-in link")),
    "signin_link.used": Action("members", _l("Signed in with a link")),
    "call_in_code.issued": Action("members", _l("Issued a call-in code")),
    "user.password_set": Action("members", _l("Set their password")),
    "operation.created": Action("operations", _l("Created an operation")),
    "operation.activated": Action("operations", _l("Started an operation")),
    "operation.paused": Action("operations", _l("Paused an operation")),
    "operation.resumed": Action("operations", _l("Resumed an operation")),
    "operation.ended": Action("operations", _l("Ended an operation")),
    "operation.deleted": Action("operations", _l("Deleted a draft operation")),
    "operation.duplicated": Action("operations", _l("Duplicated an operation")),
    "target.skipped": Action("operations", _l("Skipped a contact in the caller app")),
    "contact.shared": Action("contacts", _l("Shared a contact from the caller app")),
    "contact.edited": Action("contacts", _l("Corrected a contact")),
    "phone.marked_by_provider": Action("contacts", _l("Marked a number wrong")),
    "phone.status_reset": Action("contacts", _l("Reset a number's status")),
    "signup_form.created": Action("contacts", _l("Made a sign-up form")),
    "signup_form.updated": Action("contacts", _l("Changed a sign-up form")),
    "telephony.text_read": Action("contacts", _l("Read a text")),
}

KINDS: dict[str, LazyString] = {
    "exports": _l("Exports"), "erasures": _l("Erasures"), "optouts": _l("Opt-outs"),
    "settings": _l("Settings"), "members": _l("Members and links"),
    "operations": _l("Operations"), "contacts": _l("Contacts and texts"),
}

# Who acted, when no member did: the entry's `source` or `via` (ringround/optouts.py's
# sources, the erasure's and the export's `via`).
NON_USER_ACTORS: dict[str, LazyString] = {
    "sms_stop": _l("by text message"), "sms_start": _l("by text message"),
    "sms_signup": _l("by text message"), "voice_stop": _l("by phone"),
    "carrier_21610": _l("by the phone carrier"), "disposition": _l("by a caller's result"),
    "erasure": _l("by an erasure"), "organizer": _l("by an organizer"),
    "cli": _l("command line"), "erasure-ledger": _l("command line (backup restored)"),
}
SYSTEM_ACTOR = _l("Ringround (automatic)")
UNKNOWN_ACTION = _l("Unknown action")


@dataclass(frozen=True)
class Words:
    """The log's words said in one language, as plain strings: a CSV stream outlives its
    request (ringround/csv_stream.py), so it gets them ready-made."""

    actions: dict[str, str]
    actors: dict[str, str]
    subjects: dict[str, str]
    system: str
    unknown: str

    @classmethod
    def now(cls) -> Words:
        """The words in the language active now."""
        return cls({code: str(a.label) for code, a in ACTIONS.items()},
                   {k: str(v) for k, v in NON_USER_ACTORS.items()},
                   {k: str(v) for k, v in SUBJECT_WORDS.items()},
                   str(SYSTEM_ACTOR), str(UNKNOWN_ACTION))

    def action(self, code: str) -> str:
        """An action in words; an unknown one is named as such, with its code."""
        return self.actions.get(code) or f"{self.unknown} ({code})"


def actions_of(kind: str | None) -> list[str] | None:
    """The actions of a kind, or the one action named by its code (None: every action, also
    unknown ones)."""
    if kind in KINDS:
        return [code for code, a in ACTIONS.items() if a.kind == kind]
    return [kind] if kind else None


@dataclass(frozen=True)
class AuditFilter:
    kind: str | None = None
    since: datetime | None = None  # UTC, included
    until: datetime | None = None  # UTC, excluded


def days_filter(kind: str | None, since: date | None, until: date | None,
                zone: str | None) -> AuditFilter:
    """The filter of whole days in the organization's time zone, `until` included."""
    tz = local_zone(zone)

    def start(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    return AuditFilter(kind if kind in KINDS else None, start(since) if since else None,
                       start(until + timedelta(days=1)) if until else None)


@dataclass(frozen=True)
class Subject:
    kind: str  # contact, erased_contact, gone_contact, operation, gone_operation, user or ""
    id: int | None
    name: str = ""


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    action: str
    label: str
    actor: str
    actor_is_member: bool
    subject: Subject
    details: dict


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None  # the keyset of the next (older) page


def _query(org_id: int | None, flt: AuditFilter):
    query = select(AuditEntry)
    if org_id is not None:
        query = query.where(AuditEntry.organization_id == org_id)
    actions = actions_of(flt.kind)
    if actions is not None:
        query = query.where(AuditEntry.action.in_(actions))
    if flt.since is not None:
        query = query.where(AuditEntry.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEntry.created_at < flt.until)
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def _after_cursor(query, cursor: str | None):
    """Entries older than the cursor ("<UTC time>_<id>"); a malformed cursor starts over."""
    try:
        stamp, entry_id = (cursor or "").rsplit("_", 1)
        when = datetime.strptime(stamp, CURSOR_TIME).replace(tzinfo=UTC)
        last = int(entry_id)
    except ValueError:
        return query
    return query.where(or_(AuditEntry.created_at < when,
                           and_(AuditEntry.created_at == when, AuditEntry.id < last)))


def _cursor(entry: AuditEntry) -> str:
    return f"{entry.created_at.astimezone(UTC).strftime(CURSOR_TIME)}_{entry.id}"


def audit_page(session: Session, org_id: int | None, flt: AuditFilter, cursor: str | None = None,
               size: int = PAGE_SIZE, words: Words | None = None) -> AuditPage:
    """One page of the organization's log (None: every organization's, for operators),
    newest first, and the cursor of the next page."""
    entries = list(session.scalars(_after_cursor(_query(org_id, flt), cursor).limit(size + 1)))
    more = len(entries) > size
    entries = entries[:size]
    return AuditPage(described(session, org_id, entries, words or Words.now()),
                     _cursor(entries[-1]) if more and entries else None)


def described(session: Session, org_id: int | None, entries: list[AuditEntry],
              words: Words) -> list[AuditRow]:
    """The entries in words: who acted and on what (read in a few queries per page)."""
    users = _names(session, User, {e.actor_id for e in entries} | {
        e.subject_id for e in entries if e.subject_type == "user"})
    contact_ids = {e.subject_id for e in entries if e.subject_type == "contact"}
    contacts = {c.id: c.full_name for c in session.scalars(select(Contact).where(
        Contact.id.in_(contact_ids), _in_org(Contact.organization_id, org_id)))}
    erased = dict(session.execute(
        select(AuditEntry.subject_id, func.max(AuditEntry.id)).where(
            _in_org(AuditEntry.organization_id, org_id), AuditEntry.action == ERASED,
            AuditEntry.subject_id.in_(contact_ids)).group_by(AuditEntry.subject_id)).all())
    operations = dict(session.execute(select(Operation.id, Operation.name).where(
        _in_org(Operation.organization_id, org_id), Operation.id.in_(
            {e.subject_id for e in entries if e.subject_type == "operation"}))).all())
    return [AuditRow(e.id, e.created_at, e.action, words.action(e.action),
                     *_actor(e, users, words), _subject(e, contacts, erased, operations, users),
                     dict(e.details or {})) for e in entries]


def _in_org(column, org_id: int | None):
    return column == org_id if org_id is not None else true()


def _names(session: Session, model, ids: set) -> dict[int, str]:
    ids.discard(None)
    return dict(session.execute(select(model.id, model.display_name)
                                .where(model.id.in_(ids))).all()) if ids else {}


def _actor(entry: AuditEntry, users: dict[int, str], words: Words) -> tuple[str, bool]:
    if entry.actor_id is not None and entry.actor_id in users:
        return users[entry.actor_id], True
    details = entry.details or {}
    source = details.get("source") or details.get("via")
    return words.actors.get(source, words.system), False


def _subject(entry: AuditEntry, contacts: dict, erased: dict, operations: dict,
             users: dict) -> Subject:
    sid = entry.subject_id
    if entry.subject_type == "contact":
        if sid in erased and entry.id <= erased[sid]:
            return Subject("erased_contact", None)  # even if a new contact took the id
        if sid in contacts:
            return Subject("contact", sid, contacts[sid])
        return Subject("gone_contact", None)
    if entry.subject_type == "operation":
        if sid in operations:
            return Subject("operation", sid, operations[sid])
        return Subject("gone_operation", None, str((entry.details or {}).get("name", "")))
    if entry.subject_type == "user" and sid in users:
        return Subject("user", sid, users[sid])
    return Subject("", None)


SUBJECT_WORDS: dict[str, LazyString] = {
    "erased_contact": _l("erased contact"), "gone_contact": _l("contact no longer here"),
    "gone_operation": _l("deleted operation"),
}


def subject_text(subject: Subject, words: Words) -> str:
    """The object in words, for the CSV and the command line."""
    said = words.subjects.get(subject.kind, "")
    return f"{said} {subject.name}".strip() if subject.name else said


def local_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


CSV_HEADER = ["id", "time", "action", "description", "by", "object", "details"]


def audit_csv_rows(session: Session, org_id: int, flt: AuditFilter, zone: str | None,
                   words: Words) -> Iterator[list]:
    """The header, then every matching entry, newest first, a page at a time; times in the
    organization's zone, actions in `words`."""
    yield CSV_HEADER
    tz, cursor = local_zone(zone), None
    while True:
        page = audit_page(session, org_id, flt, cursor, size=1000, words=words)
        for row in page.rows:
            yield [row.id, row.created_at.astimezone(tz).isoformat(timespec="seconds"),
                   row.action, row.label, row.actor, subject_text(row.subject, words),
                   json.dumps(row.details, sort_keys=True) if row.details else ""]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def audit_log_export(session: Session, org_id: int, actor_id: int | None, rows: int,
                     flt: AuditFilter, via: str = "web") -> None:
    """Record that the log (`rows` entries of it) was exported."""
    record_audit(session, org_id, actor_id, "audit.exported", "organization", org_id,
                 {"rows": rows, "kind": flt.kind, "via": via,
                  "since": flt.since.isoformat() if flt.since else None,
                  "until": flt.until.isoformat() if flt.until else None})
