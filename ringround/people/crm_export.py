"""Export profiles: contacts as the CSV another tool imports (Action Network, NationBuilder,
EveryAction/VAN, Zetkin), each in that tool's own field names (docs/crm-files.md), with the
call results as tags or as survey responses. The import side is in `headers.CRM_HEADERS`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import Attempt, Contact, ContactPhone, Operation, contact_tags
from ringround.models.people import Tag
from ringround.people.filters import contact_ids_select

RESULTS = ("tags", "survey")  # call results as tags, or one column per operation/question
BATCH = 2000


@dataclass(frozen=True)
class Profile:
    """A tool's columns: (its header, our value) pairs; our values are contact fields,
    `phone`/`mobile` (first landline-or-any / first mobile number), `main_phone`/
    `other_phone` (the mobile if any, else the first; then the other one), `tags`,
    `do_not_contact` (true/false), `unsubscribed` ("unsubscribed" for a do-not-contact
    person, else empty: never a subscription the person did not give) or `custom:<key>`.

    `opt_out_tag`: the tool reads no opt-out column on import, so a do-not-contact person
    also gets the tag `OPT_OUT_TAG` (a file must never turn them into an ordinary contact)."""

    label: str
    columns: tuple[tuple[str, str], ...]
    opt_out_tag: bool = False


OPT_OUT_TAG = "do not contact"


PROFILES: dict[str, Profile] = {
    "action_network": Profile("Action Network", (
        ("first_name", "first_name"), ("last_name", "last_name"), ("email", "email"),
        ("zip_code", "postcode"), ("can2_phone", "mobile"), ("can2_user_address", "street"),
        ("can2_user_city", "city"), ("can2_country", "country"), ("can2_user_tags", "tags"),
        ("can2_sms_status", "unsubscribed"),
    ), opt_out_tag=True),
    "nationbuilder": Profile("NationBuilder", (
        ("nationbuilder_id", "custom:nationbuilder_id"), ("first_name", "first_name"),
        ("last_name", "last_name"), ("email", "email"), ("phone_number", "phone"),
        ("mobile_number", "mobile"), ("do_not_call", "do_not_contact"),
        ("primary_address1", "street"), ("primary_city", "city"), ("primary_zip", "postcode"),
        ("primary_country_code", "country"), ("tag_list", "tags"),
    )),
    "everyaction": Profile("EveryAction/VAN", (
        ("VANID", "custom:vanid"), ("FirstName", "first_name"), ("LastName", "last_name"),
        ("Address", "street"), ("City", "city"), ("Zip5", "postcode"),
        ("Home Phone", "phone"), ("Cell Phone", "mobile"), ("PreferredEmail", "email"),
        ("DoNotCall", "do_not_contact"), ("Activist Codes", "tags"),
    )),
    "zetkin": Profile("Zetkin", (
        ("id", "custom:zetkin_id"), ("ext_id", "custom:zetkin_ext_id"),
        ("first_name", "first_name"), ("last_name", "last_name"), ("email", "email"),
        ("phone", "main_phone"), ("alt_phone", "other_phone"), ("street_address", "street"),
        ("zip_code", "postcode"), ("city", "city"), ("country", "country"), ("tags", "tags"),
    ), opt_out_tag=True),
}


def _cell(contact: Contact, value: str, computed: dict[str, str]) -> str:
    """One cell of a profile row: a computed value, a custom field or a contact field."""
    if value in computed:
        return computed[value]
    if value.startswith("custom:"):
        custom = (contact.custom or {}).get(value[len("custom:"):])
        return "" if custom is None else custom
    return getattr(contact, value) or ""


def profile_header(name: str) -> list[str]:
    """The tool's own field names of profile `name`, before any survey column."""
    return [header for header, _value in PROFILES[name].columns]


def _called(org_id: int, operation_id: int | None):
    """Where an attempt counts: an operation of the organization (`operation_id` only)."""
    where = [Operation.organization_id == org_id, Attempt.disposition.is_not(None)]
    if operation_id is not None:
        where.append(Attempt.operation_id == operation_id)
    return where


def _ids(org_id: int, filter: dict | None, operation_id: int | None = None):  # noqa: A002
    ids = select(contact_ids_select(org_id, filter).subquery().c.id)
    if operation_id is None:
        return ids
    return select(Attempt.contact_id).join(Operation, Operation.id == Attempt.operation_id) \
        .where(*_called(org_id, operation_id), Attempt.contact_id.in_(ids))


def _last_results(session: Session, org_id: int, ids: list[int], operation_id: int | None
                  ) -> dict[int, dict[str, tuple[str, dict]]]:
    """Per contact, per operation name: the last call's result and answers."""
    results: dict[int, dict[str, tuple[str, dict]]] = defaultdict(dict)
    for contact_id, operation, disposition, answers in session.execute(
            select(Attempt.contact_id, Operation.name, Attempt.disposition, Attempt.answers)
            .join(Operation, Operation.id == Attempt.operation_id)
            .where(*_called(org_id, operation_id), Attempt.contact_id.in_(ids))
            .order_by(Attempt.created_at, Attempt.id)):
        results[contact_id][operation] = (disposition, answers or {})
    return results


def _survey_columns(session: Session, org_id: int, filter: dict | None,  # noqa: A002
                    operation_id: int | None) -> list[tuple[str, str | None]]:
    """(operation, question or None for its result) for every survey column, in order."""
    columns: dict[tuple[str, str | None], None] = {}
    for operation, answers in session.execute(
            select(Operation.name, Attempt.answers)
            .join(Operation, Operation.id == Attempt.operation_id)
            .where(*_called(org_id, operation_id),
                   Attempt.contact_id.in_(_ids(org_id, filter)))
            .order_by(Operation.id, Attempt.id)):
        columns.setdefault((operation, None))
        for question in answers or {}:
            columns.setdefault((operation, str(question)))
    return list(columns)


def profile_rows(session: Session, org_id: int, name: str, results: str = "tags",
                 filter: dict | None = None,  # noqa: A002
                 operation_id: int | None = None) -> Iterator[list]:
    """The header, then one row per matching contact (with `operation_id`: per contact
    called in it, with its results only), for profile `name`; call results as tags
    (`results="tags"`: `<operation>: <result>`) or as survey responses (one column per
    operation, one per question asked). Not audited: the caller audits."""
    profile = PROFILES[name]
    survey = _survey_columns(session, org_id, filter, operation_id) \
        if results == "survey" else []
    yield profile_header(name) + [operation if question is None else f"{operation}: {question}"
                                  for operation, question in survey]
    ids_select = _ids(org_id, filter, operation_id)
    last = 0
    while True:
        batch = session.scalars(select(Contact).where(Contact.id.in_(ids_select),
                                                      Contact.id > last)
                                .order_by(Contact.id).limit(BATCH)).all()
        if not batch:
            return
        last = batch[-1].id
        ids = [contact.id for contact in batch]
        phones: dict[int, list[tuple[str, bool]]] = defaultdict(list)
        for contact_id, e164, mobile in session.execute(
                select(ContactPhone.contact_id, ContactPhone.e164, ContactPhone.is_mobile)
                .where(ContactPhone.contact_id.in_(ids)).order_by(ContactPhone.position)):
            phones[contact_id].append((e164, bool(mobile)))
        tags: dict[int, list[str]] = defaultdict(list)
        for contact_id, tag in session.execute(
                select(contact_tags.c.contact_id, Tag.name).join(Tag)
                .where(contact_tags.c.contact_id.in_(ids)).order_by(Tag.name)):
            tags[contact_id].append(tag)
        called = _last_results(session, org_id, ids, operation_id)
        for contact in batch:
            numbers = phones[contact.id]
            mobile = next((e164 for e164, is_mobile in numbers if is_mobile), "")
            phone = next((e164 for e164, _m in numbers if e164 != mobile), "")
            own_tags = list(tags[contact.id])
            if profile.opt_out_tag and contact.do_not_contact:
                own_tags.append(OPT_OUT_TAG)
            if results == "tags":
                own_tags += [f"{operation}: {disposition}"
                             for operation, (disposition, _a) in called[contact.id].items()]
            values = {"phone": phone, "mobile": mobile, "main_phone": mobile or phone,
                      "other_phone": phone if mobile else "", "tags": ", ".join(own_tags),
                      "do_not_contact": "true" if contact.do_not_contact else "false",
                      "unsubscribed": "unsubscribed" if contact.do_not_contact else ""}
            row = [_cell(contact, value, values) for _header, value in profile.columns]
            for operation, question in survey:
                disposition, answers = called[contact.id].get(operation, ("", {}))
                answer = disposition if question is None else answers.get(question, "")
                row.append(", ".join(map(str, answer)) if isinstance(answer, list) else answer)
            yield row
        for contact in batch:
            session.expunge(contact)
