"""The one set of rules for matching and merging contacts, shared by imports, sign-up forms
and SMS: a contact is the same person when a number (however written) matches, or the email
matches and the names do not clearly differ (`same_person`: a family may share one address);
tags are united, empty fields filled, and a field that differs is kept and reported, never
overwritten silently."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.keys import app_keys
from ringround.models import (
    Consent,
    Contact,
    ContactPhone,
    Household,
    Organization,
    PhoneLabel,
    Tag,
    utcnow,
)
from ringround.optouts import is_opted_out
from ringround.organizations import default_region
from ringround.people.normalize import (
    CONTACT_FIELDS,
    Remark,
    household_key,
    normalize_country,
    normalize_language,
)
from ringround.phones import ParsedPhone, PhoneError, parse_phone, time_zone_for

K = TypeVar("K")  # how a caller of the merge rule names contacts (ids, rows, objects)


def household_secret() -> bytes:
    """The key that hashes household addresses, derived from SECRET_KEY."""
    return app_keys().household


# Common short forms of first names: "Bob" and "Robert" may be the same person. Small on
# purpose: a pair missing here only keeps two contacts apart (reported), never merges two.
_NICKNAMES = {frozenset(pair) for pair in (
    ("robert", "bob"), ("robert", "rob"), ("robert", "bobby"), ("william", "bill"),
    ("william", "will"), ("william", "billy"), ("william", "liam"), ("elizabeth", "liz"),
    ("elizabeth", "beth"), ("elizabeth", "betty"), ("elizabeth", "lisa"),
    ("margaret", "peggy"), ("margaret", "maggie"), ("james", "jim"), ("james", "jimmy"),
    ("richard", "dick"), ("richard", "rick"), ("katherine", "kate"), ("catherine", "kate"),
    ("katherine", "kathy"), ("catherine", "cathy"), ("thomas", "tom"), ("michael", "mike"),
    ("alexander", "alex"), ("alexandra", "alex"), ("christopher", "chris"),
    ("christine", "chris"), ("daniel", "dan"), ("daniel", "danny"), ("david", "dave"),
    ("edward", "ed"), ("edward", "ted"), ("joseph", "joe"), ("jonathan", "jon"),
    ("nicholas", "nick"), ("nicolas", "nico"), ("patricia", "pat"), ("patrick", "pat"),
    ("samuel", "sam"), ("samantha", "sam"), ("steven", "steve"), ("stephen", "steve"),
    ("susan", "sue"), ("anthony", "tony"), ("antoine", "toine"), ("johannes", "hans"),
    ("johannes", "jan"), ("johanna", "hanna"), ("francois", "francis"),
    ("maximilian", "max"), ("benjamin", "ben"), ("jennifer", "jenny"), ("jessica", "jess"),
)}
_NAME_PARTS = re.compile(r"[^\W\d_]+")


def _name_parts(name: str | None) -> list[str]:
    """The words of a name, lower case without accents: `Jean-Hélène` → [jean, helene]."""
    if not name:
        return []
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return _NAME_PARTS.findall(folded)


def _same_given_name(one: str, other: str) -> bool:
    if one == other or frozenset((one, other)) in _NICKNAMES:
        return True
    short, long = sorted((one, other), key=len)
    if not long.startswith(short):
        return False
    # an initial (`J`), or a short form cut from the name (`Bea`, `Beatrice`); `Jean` and
    # `Jeanne`, `Louis` and `Louise` differ by too little to be one
    return len(short) == 1 or (len(short) >= 3 and len(long) - len(short) >= 3)


def same_person(first_name: str | None, other_first_name: str | None) -> bool:
    """Whether two contacts who share an email may be the same person: yes unless both first
    names are known and clearly differ. The same after ignoring case and accents, a shared
    word of a compound name (`Jean-Pierre`, `Jean`), an initial (`J.`, `Jean`), a short form
    cut from the name (`Bea`, `Beatrice`: 3 letters or more, 3 or more fewer) or a common
    nickname (`Bob`, `Robert`) count as the same; anything else (`Jean`, `Jeanne`) is another
    person (a family address), kept as a contact of their own. Last names are not compared:
    people change them, and the email already says the family. Used by imports and sign-ups
    alike."""
    parts, other_parts = _name_parts(first_name), _name_parts(other_first_name)
    if not parts or not other_parts:
        return True
    return any(_same_given_name(one, other) for one in parts for other in other_parts)


def email_household_key(secret: bytes, email: str) -> str | None:
    """The key of the household of people who share an email and have no address."""
    return household_key(secret, f"email {email}", "", "", "")


def find_match(numbers: Iterable[str], email: str | None, first_name: str | None,
               owner_of: Mapping[str, K], sharing_email: Mapping[str, Sequence[K]],
               first_name_of: Callable[[K], str | None]) -> tuple[K | None, K | None]:
    """The merge rule: which contact a person is, for a single contact (`upsert_contact`) and
    for every row of an import (`import_merge.MergeState.apply`, its indexes per chunk).

    Returns (match, sharer). The contact owning one of the `numbers` (in their order) is the
    person; else, among the contacts with this `email` (oldest first), the first whose first
    name does not clearly differ (`same_person`). When all of those clearly differ, no match
    and the first of them is the `sharer`: another person of the family that shares the
    address, whose household the new contact joins. `owner_of`: number -> contact;
    `sharing_email`: email -> contacts; contacts are whatever keys the caller uses."""
    for number in numbers:
        match = owner_of.get(number)
        if match is not None:
            return match, None
    holders = sharing_email.get(email) if email else None
    if not holders:
        return None, None
    for holder in holders:
        if same_person(first_name_of(holder), first_name):
            return holder, None
    return None, holders[0]


def foreign_numbers(numbers: Iterable[str], match: K, owner_of: Mapping[str, K]) -> list[str]:
    """The numbers that belong to another contact than `match`: never moved to it (an import
    reports them; one contact never takes another's number)."""
    return [number for number in numbers if owner_of.get(number, match) != match]


def _same(current: Any, incoming: Any) -> bool:
    if isinstance(current, str) and isinstance(incoming, str):
        return current.strip().casefold() == incoming.strip().casefold()
    return current == incoming


def merge_fields(existing: dict[str, Any], incoming: dict[str, Any]
                 ) -> tuple[dict[str, Any], list[str]]:
    """The updates that fill `existing`'s empty fields from `incoming`, and the names of the
    fields where both have a different value (the existing one is kept)."""
    updates: dict[str, Any] = {}
    conflicts: list[str] = []
    for name, value in incoming.items():
        if value in (None, ""):
            continue
        current = existing.get(name)
        if current in (None, ""):
            updates[name] = value
        elif not _same(current, value) and name != "time_zone":
            conflicts.append(name)
    return updates, conflicts


def conflict_message(name: str, kept: Any, ignored: Any) -> Remark:
    """The import report's remark on a field the contact kept over the file's value."""
    return ("field_kept", {"field": name, "kept": str(kept), "file": str(ignored)})


def get_or_create_tags(session: Session, org_id: int, names: list[str]) -> list[Tag]:
    """Tags by name, created where missing."""
    names = list(dict.fromkeys(n.strip()[:64] for n in names if n and n.strip()))
    if not names:
        return []
    found = {t.name: t for t in session.scalars(
        select(Tag).where(Tag.organization_id == org_id, Tag.name.in_(names)))}
    for name in names:
        if name not in found:
            found[name] = Tag(organization_id=org_id, name=name)
            session.add(found[name])
    session.flush()
    return [found[name] for name in names]


def get_or_create_household(session: Session, org_id: int, key: str) -> Household:
    household = session.scalar(select(Household).where(
        Household.organization_id == org_id, Household.key == key))
    if household is None:
        household = Household(organization_id=org_id, key=key)
        session.add(household)
        session.flush()
    return household


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        value = fields.get(name)
        if value in (None, ""):
            continue
        if name == "country":
            value = normalize_country(str(value))
        elif name == "language":
            value = normalize_language(str(value))
        elif name == "email":
            value = str(value).strip().lower()
        elif name == "date_of_birth" and not isinstance(value, date):
            continue
        if value:
            clean[name] = value
    return clean


def upsert_contact(
    session: Session, org_id: int, fields: dict[str, Any], phones: list[str],
    tags: list[str], source: str, consent: dict[str, Any] | None = None,
) -> tuple[Contact, bool]:
    """Create a contact or merge into the one `find_match` finds: the single-contact form of
    the merge rule (sign-up forms, SMS sign-ups, shared vCards; imports merge in batches).

    `fields`: any of first_name, last_name, email, street, postcode, city, country,
    language, date_of_birth (a date), household (an id), custom (a dict). `phones`: numbers as
    written (national ones read with the contact's country or the organization's region).
    A contact with the same email but a clearly different first name (`same_person`) is
    another person: a new contact, in that person's household. A number another contact has
    stays theirs. `consent`: {"channel", "text", "text_version", "source"?, "granted"?}.
    Returns the contact and whether it is new. Raises ValueError when no number is valid and
    no email matches.
    """
    clean = _clean_fields(fields)
    region = clean.get("country") or default_region(session.get(Organization, org_id))
    parsed = [p for p in (parse_phone(raw, region) for raw in phones)
              if not isinstance(p, PhoneError)]
    numbers = [p.e164 for p in parsed]
    owners = number_owners(session, org_id, numbers)
    holders = {} if owners else _email_holders(session, org_id, clean.get("email"))
    contact, sharer = find_match(numbers, clean.get("email"), clean.get("first_name"), owners,
                                 holders, _first_name)
    if contact is None and not parsed:
        raise ValueError("no valid phone number")
    if parsed and "time_zone" not in clean:
        zone = time_zone_for(parsed[0], clean.get("country"), clean.get("postcode"))
        if zone:
            clean["time_zone"] = zone
    created = contact is None
    contact = _new_or_filled(session, org_id, contact, clean, source)
    _fill_custom(contact, fields.get("custom"))
    _add_numbers(contact, org_id, [p for p in parsed if p.e164 not in owners])
    if any(is_opted_out(session, org_id, number) for number in numbers):
        contact.do_not_contact = True
    for tag in get_or_create_tags(session, org_id, tags):
        if tag not in contact.tags:
            contact.tags.append(tag)
    if contact.household_id is None:
        _join_household(session, org_id, contact, fields, clean, sharer)
    if consent:
        contact.consents.append(Consent(
            channel=consent.get("channel", "call"), granted=consent.get("granted", True),
            text=consent.get("text", ""), text_version=consent.get("text_version"),
            source=consent.get("source", source)[:120],
        ))
    session.flush()
    return contact, created


def _first_name(contact: Contact) -> str | None:
    return contact.first_name


def number_owners(session: Session, org_id: int, numbers: list[str]) -> dict[str, Contact]:
    """number -> the contact of the organization that has it."""
    if not numbers:
        return {}
    return dict(session.execute(select(ContactPhone.e164, Contact).join(
        Contact, Contact.id == ContactPhone.contact_id).where(
        ContactPhone.organization_id == org_id, ContactPhone.e164.in_(numbers))).tuples().all())


def _email_holders(session: Session, org_id: int, email: str | None
                   ) -> dict[str, list[Contact]]:
    """email -> the organization's contacts with it, oldest first."""
    if not email:
        return {}
    found = session.scalars(select(Contact).where(
        Contact.organization_id == org_id, Contact.email == email).order_by(Contact.id)).all()
    return {email: list(found)} if found else {}


def _new_or_filled(session: Session, org_id: int, contact: Contact | None,
                   clean: dict[str, Any], source: str) -> Contact:
    """A new contact with `clean`, or `contact` with its empty fields filled from it."""
    if contact is None:
        contact = Contact(organization_id=org_id, source=source[:120], custom={}, **clean)
        session.add(contact)
        return contact
    updates, _conflicts = merge_fields(
        {name: getattr(contact, name) for name in CONTACT_FIELDS}, clean)
    for name, value in updates.items():
        setattr(contact, name, value)
    contact.updated_at = utcnow()
    return contact


def _fill_custom(contact: Contact, incoming: dict[str, Any] | None) -> None:
    custom = dict(contact.custom or {})
    for key, value in (incoming or {}).items():
        if custom.get(key) in (None, ""):
            custom[key] = value
    contact.custom = custom


def _add_numbers(contact: Contact, org_id: int, parsed: list[ParsedPhone]) -> None:
    """The numbers (nobody else's) the contact does not have yet, after its own."""
    own_numbers = {phone.e164 for phone in contact.phones}
    for number in parsed:
        if number.e164 in own_numbers:
            continue
        contact.phones.append(ContactPhone(
            organization_id=org_id, e164=number.e164, extension=number.extension,
            label=PhoneLabel.MOBILE if number.is_mobile else PhoneLabel.LANDLINE,
            is_mobile=number.is_mobile, country=number.country, position=len(contact.phones),
        ))
        own_numbers.add(number.e164)


def _join_household(session: Session, org_id: int, contact: Contact, fields: dict[str, Any],
                    clean: dict[str, Any], sharer: Contact | None) -> None:
    """The household of the contact's address, else that of the family sharing its email."""
    key = household_key(household_secret(), str(fields.get("household") or ""),
                        clean.get("street", ""), clean.get("postcode", ""),
                        clean.get("city", ""))
    if key:
        contact.household = get_or_create_household(session, org_id, key)
    elif sharer is not None:  # the family that shares the email: one household
        if sharer.household is None:
            sharer.household = get_or_create_household(
                session, org_id, email_household_key(household_secret(), clean["email"]))
        contact.household = sharer.household
