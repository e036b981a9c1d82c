"""Exports: contacts to CSV (E.164 numbers, re-importable), and everything held about one
person as JSON (a right-of-access request). Every export is written to the audit log."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.csv_stream import audited_csv
from ringround.models import (
    Attempt,
    Consent,
    Contact,
    ContactPhone,
    CustomField,
    Household,
    Operation,
    Target,
    contact_tags,
)
from ringround.models.people import Tag
from ringround.people.contacts import opted_out_numbers
from ringround.people.crm_export import profile_rows
from ringround.people.filters import contact_ids_select, count_matching
from ringround.spreadsheet_safety import safe_rows

MAX_PHONES = 3
# Each number in E.164, its extension (if any) in the column after it.
PHONE_COLUMNS = [column for i in range(1, MAX_PHONES + 1)
                 for column in (f"phone_{i}", f"phone_{i}_extension")]
BASE_COLUMNS = ["first_name", "last_name", "email", *PHONE_COLUMNS,
                "street", "postcode", "city", "country", "language", "date_of_birth",
                "time_zone", "tags", "household", "do_not_contact", "source", "created_at"]
BATCH = 2000


def _batches(session: Session, org_id: int, filter: dict[str, Any] | None  # noqa: A002
             ) -> Iterator[list[Contact]]:
    ids = contact_ids_select(org_id, filter).subquery()
    last = 0
    while True:
        batch = session.scalars(select(Contact).where(Contact.id.in_(select(ids.c.id)),
                                                      Contact.id > last)
                                .order_by(Contact.id).limit(BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1].id


def audit_contacts_export(session: Session, org_id: int, *, filter: dict | None = None,  # noqa: A002
                          actor_id: int | None = None, list_name: str | None = None,
                          via: str = "web", count: int | None = None,
                          profile: str | None = None) -> int:
    """Write an export of the matching contacts to the audit log (`count` of them, sent;
    counted now when not given); returns how many contacts it holds."""
    if count is None:
        count = count_matching(session, org_id, filter)
    record_audit(session, org_id, actor_id, "contacts.exported", "organization", org_id,
                 {"count": count, "list": list_name, "filter_keys": sorted(filter or {}),
                  "via": via, **({"profile": profile} if profile else {})})
    return count


def contact_rows(session: Session, org_id: int, filter: dict | None = None  # noqa: A002
                 ) -> Iterator[list]:
    """The header, then one row per matching contact (E.164 numbers, re-importable), read
    2,000 at a time. Not audited: see `audit_contacts_export`."""
    custom_keys = list(session.scalars(select(CustomField.key).where(
        CustomField.organization_id == org_id).order_by(CustomField.id)))
    yield BASE_COLUMNS + custom_keys
    for batch in _batches(session, org_id, filter):
        ids = [c.id for c in batch]
        phones: dict[int, list[str]] = defaultdict(list)
        for contact_id, e164, extension in session.execute(
                select(ContactPhone.contact_id, ContactPhone.e164, ContactPhone.extension)
                .where(ContactPhone.contact_id.in_(ids)).order_by(ContactPhone.position)):
            phones[contact_id] += [e164, extension or ""]
        tags: dict[int, list[str]] = defaultdict(list)
        for contact_id, name in session.execute(
                select(contact_tags.c.contact_id, Tag.name).join(Tag)
                .where(contact_tags.c.contact_id.in_(ids)).order_by(Tag.name)):
            tags[contact_id].append(name)
        for contact in batch:
            numbers = (phones[contact.id] + [""] * len(PHONE_COLUMNS))[:len(PHONE_COLUMNS)]
            custom = contact.custom or {}
            yield [
                contact.first_name or "", contact.last_name or "", contact.email or "",
                *numbers, contact.street or "", contact.postcode or "", contact.city or "",
                contact.country or "", contact.language or "",
                contact.date_of_birth.isoformat() if contact.date_of_birth else "",
                contact.time_zone or "", ",".join(tags[contact.id]),
                contact.household_id or "", "yes" if contact.do_not_contact else "",
                contact.source or "", contact.created_at.isoformat(timespec="seconds"),
                *["" if custom.get(key) is None else custom[key] for key in custom_keys],
            ]
        for contact in batch:
            session.expunge(contact)  # keep the identity map small on big exports


def rows_for(session: Session, org_id: int, filter: dict | None,  # noqa: A002
             profile: str | None, results: str = "tags") -> Iterator[list]:
    """Our own columns, or those of an export profile (`crm_export.PROFILES`)."""
    if profile:
        return profile_rows(session, org_id, profile, results, filter)
    return contact_rows(session, org_id, filter)


def export_csv(session: Session, org_id: int, out: TextIO, *, filter: dict | None = None,  # noqa: A002
               actor_id: int | None = None, list_name: str | None = None,
               via: str = "web", profile: str | None = None, results: str = "tags") -> int:
    """Write the matching contacts to `out` as CSV (our columns, or those of `profile`);
    returns how many. Audited (and committed) once the last row is written."""
    rows = safe_rows(rows_for(session, org_id, filter, profile, results))
    writer = csv.writer(out)
    writer.writerow(next(rows))
    count = 0
    for count, row in enumerate(rows, start=1):  # noqa: B007 (read after the loop)
        writer.writerow(row)
    session.rollback()  # end the read before writing (see csv_stream.audited_csv)
    audit_contacts_export(session, org_id, filter=filter, actor_id=actor_id,
                          list_name=list_name, via=via, count=count, profile=profile)
    session.commit()
    return count


def contacts_stream(engine: Engine, org_id: int, filter: dict | None,  # noqa: A002
                    actor_id: int | None, list_name: str | None,
                    profile: str | None = None, results: str = "tags") -> Iterator[bytes]:
    """The matching contacts as CSV pieces for a download (with a BOM, for Excel; none for
    another tool's profile), read through a session of the stream's own and audited once
    sent whole."""
    return audited_csv(
        engine, lambda session: rows_for(session, org_id, filter, profile, results),
        lambda session, count: audit_contacts_export(
            session, org_id, filter=filter, actor_id=actor_id, list_name=list_name,
            count=count, profile=profile), bom=not profile)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def person_data(session: Session, contact: Contact, actor_id: int | None) -> dict[str, Any]:
    """Everything held about one person, for a right-of-access request. Audited."""
    org_id = contact.organization_id
    opted_out = opted_out_numbers(session, org_id, contact)
    household = session.get(Household, contact.household_id) if contact.household_id else None
    attempts = session.execute(
        select(Attempt, Operation.name).join(Operation, Operation.id == Attempt.operation_id)
        .where(Attempt.contact_id == contact.id).order_by(Attempt.created_at)).all()
    targets = session.execute(
        select(Target, Operation.name).join(Operation, Operation.id == Target.operation_id)
        .where(Target.contact_id == contact.id)).all()
    consents = session.scalars(select(Consent).where(Consent.contact_id == contact.id)
                               .order_by(Consent.recorded_at)).all()
    data = {
        "contact": {
            "id": contact.id, "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email, "street": contact.street, "postcode": contact.postcode,
            "city": contact.city, "country": contact.country, "language": contact.language,
            "date_of_birth": _iso(contact.date_of_birth), "time_zone": contact.time_zone,
            "source": contact.source, "custom_fields": contact.custom or {},
            "do_not_contact": contact.do_not_contact, "created_at": _iso(contact.created_at),
            "updated_at": _iso(contact.updated_at),
            "household_members": session.scalar(
                select(func.count()).select_from(Contact)
                .where(Contact.household_id == household.id)) if household else 0,
        },
        "phones": [{"number": p.e164, "extension": p.extension, "label": str(p.label),
                    "mobile": p.is_mobile, "country": p.country, "status": str(p.status),
                    "opted_out": p.e164 in opted_out} for p in contact.phones],
        "tags": sorted(t.name for t in contact.tags),
        "consents": [{"channel": c.channel, "granted": c.granted, "text": c.text,
                      "text_version": c.text_version, "source": c.source,
                      "recorded_at": _iso(c.recorded_at)} for c in consents],
        "operations": [{"operation": name, "state": str(t.state), "attempts": t.attempts,
                        "last_attempt_at": _iso(t.last_attempt_at)} for t, name in targets],
        "calls": [{"operation": name, "at": _iso(a.started_at or a.created_at),
                   "method": str(a.method), "disposition": a.disposition,
                   "answers": a.answers or {}, "notes": a.notes,
                   "field_updates": a.field_updates or {}} for a, name in attempts],
    }
    record_audit(session, org_id, actor_id, "contact.access_exported", "contact", contact.id)
    session.commit()
    return data
