"""An organizer's corrections to one contact: its fields, custom fields, tags and numbers.

Every value is checked by the rule the import uses (`contact_values`, `organizations.check_zone`,
`phones.parse_phone`, `merge.foreign_numbers`); any refusal leaves the contact as it was and
says, per field, what is wrong (`ContactEditError`). A saved edit is audited with the names of
the fields that changed, never their values (docs/privacy.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import (
    Contact,
    ContactPhone,
    CustomField,
    CustomFieldType,
    Organization,
    PhoneLabel,
    utcnow,
)
from ringround.optouts import is_opted_out
from ringround.organizations import SettingsError, check_zone, default_region
from ringround.people.contact_values import (
    MONTH_FIRST_REGIONS,
    clean_email,
    clean_text,
    coerce_custom,
    household_key,
    normalize_country,
    normalize_language,
    parse_birth_date,
    split_tags,
)
from ringround.people.contacts import set_do_not_contact
from ringround.people.merge import (
    foreign_numbers,
    get_or_create_household,
    get_or_create_tags,
    household_secret,
    number_owners,
)
from ringround.people.normalize import CONTACT_FIELDS, MAX_LENGTHS
from ringround.phones import ParsedPhone, PhoneError, parse_phone, time_zone_for
from ringround.queue.exclusions import contacts_changed
from ringround.queue.materialize import follow_contact_zone

_TEXT_FIELDS = ("first_name", "last_name", "street", "postcode", "city")
_ADDRESS = ("street", "postcode", "city")
_CUSTOM_ERRORS = {CustomFieldType.NUMBER: _l("Write a number, for example 12 or 3,5."),
                  CustomFieldType.BOOLEAN: _l("Choose yes or no."),
                  CustomFieldType.DATE: _l("Write a date, for example 2019-05-31."),
                  CustomFieldType.CHOICE: _l("Choose a value from the list.")}


@dataclass
class ContactEdit:
    """What the edit form sent, as typed. `fields`: CONTACT_FIELDS; `custom`: custom field
    key -> text (a key left out stays as it is, an empty text clears it); `tags`: one text,
    comma-separated; `phones`: phone id -> (label, remove); `new_phone`: a number to add."""

    fields: dict[str, str]
    custom: dict[str, str] = field(default_factory=dict)
    tags: str = ""
    phones: dict[int, tuple[str, bool]] = field(default_factory=dict)
    new_phone: str = ""
    new_phone_label: str = ""


class ContactEditError(ValueError):
    """Why an edit was refused: form field name -> message; `owner_id`, the contact who
    already has the number typed in `new_phone`."""

    def __init__(self, errors: dict[str, str], owner_id: int | None = None) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors, self.owner_id = errors, owner_id


def custom_fields(session: Session, org_id: int) -> list[CustomField]:
    """The organization's custom fields, in the order they were defined."""
    return list(session.scalars(select(CustomField).where(
        CustomField.organization_id == org_id).order_by(CustomField.id)))


def form_values(contact: Contact) -> dict[str, str]:
    """The contact as the edit form shows it: text, dates in ISO, yes/no; custom fields as
    `custom-<key>`, each number's label as `phone-<id>-label`."""
    values = {name: _as_text(getattr(contact, name)) for name in CONTACT_FIELDS}
    values.update((f"custom-{key}", _as_text(value))
                  for key, value in (contact.custom or {}).items())
    values["tags"] = ", ".join(sorted(tag.name for tag in contact.tags))
    values.update((f"phone-{phone.id}-label", str(phone.label)) for phone in contact.phones)
    return values


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.isoformat() if isinstance(value, date) else str(value)


def edit_contact(session: Session, contact: Contact, edit: ContactEdit,
                 actor_id: int | None) -> list[str]:
    """Check and save an organizer's edit of `contact` (all or nothing); the names of the
    fields that changed, also recorded in the audit entry `contact.edited`. A number another
    contact has is refused, never moved; a number on the opt-out registry makes the contact
    do-not-contact, as an import does; the contact's targets follow a new time zone, and
    operations' field and tag exclusions are applied again. Raises ContactEditError."""
    org = session.get(Organization, contact.organization_id)
    errors: dict[str, str] = {}
    values = _check_fields(contact, edit.fields, default_region(org), errors)
    custom = _check_custom(custom_fields(session, contact.organization_id), contact, edit.custom,
                           errors)
    region = values.get("country") or contact.country or default_region(org)
    new_phone, owner_id = _check_new_phone(session, contact, edit.new_phone, region, errors)
    labels = _check_labels(contact, edit, errors)
    if errors:
        raise ContactEditError(errors, owner_id)
    zone = contact.time_zone
    changed = _apply_fields(session, contact, values, custom)
    if _set_tags(session, contact, split_tags(edit.tags)):
        changed.append("tags")
    if _apply_phones(session, contact, edit, labels, new_phone, actor_id):
        changed.append("phones")
    if contact.time_zone != zone and "time_zone" not in changed:
        changed.append("time_zone")  # filled in from an added number
    if not changed:
        return changed
    contact.updated_at = utcnow()
    record_audit(session, contact.organization_id, actor_id, "contact.edited", "contact",
                 contact.id, {"changed": changed})
    session.flush()
    if contact.time_zone != zone:
        follow_contact_zone(session, contact)
    if changed != ["phones"]:  # a field or a tag: an exclusion may now apply, or no longer
        contacts_changed(session, contact.organization_id, [contact.id])
    session.flush()
    return changed


def _check_fields(contact: Contact, typed: dict[str, str], org_region: str,
                  errors: dict[str, str]) -> dict[str, Any]:
    """CONTACT_FIELDS made clean by the import's rules; None for an empty one. A field left
    as the form showed it keeps its value (an older import may have kept a code the lists
    no longer offer)."""
    text = {name: " ".join((typed.get(name) or "").split()) for name in CONTACT_FIELDS}
    values = _untouched(contact, text)
    for name in (name for name in _TEXT_FIELDS if name not in values):
        if len(text[name]) > MAX_LENGTHS[name]:
            errors[name] = _("At most %(n)d characters.", n=MAX_LENGTHS[name])
        values[name] = clean_text(text[name], MAX_LENGTHS[name]) or None
    checks = (("email", clean_email, _("This is not an email address.")),
              ("country", normalize_country, _("Choose a country from the list.")),
              ("language", normalize_language, _("Choose a language from the list.")))
    for name, check, message in checks:
        if text[name] and name not in values:
            values[name] = check(text[name])
            if values[name] is None:
                errors[name] = message
    if text["date_of_birth"] and "date_of_birth" not in values:
        month_first = (values.get("country") or org_region) in MONTH_FIRST_REGIONS
        values["date_of_birth"] = parse_birth_date(text["date_of_birth"], month_first)
        if values["date_of_birth"] is None:
            errors["date_of_birth"] = _("Write a date between 1900 and today.")
    if text["time_zone"] and "time_zone" not in values:
        try:
            values["time_zone"] = check_zone(text["time_zone"])
        except SettingsError as error:
            errors["time_zone"] = str(error)
    return {name: values.get(name) for name in CONTACT_FIELDS}


def _untouched(contact: Contact, text: dict[str, str]) -> dict[str, Any]:
    """The fields whose text is what the form showed: their values as they are."""
    return {name: getattr(contact, name) for name in text
            if text[name] and text[name] == _as_text(getattr(contact, name))}


def _check_custom(definitions: list[CustomField], contact: Contact, typed: dict[str, str],
                  errors: dict[str, str]) -> dict[str, Any]:
    """The contact's custom fields after the edit, each typed value read as the import reads
    its type (`coerce_custom`); fields not on the form are kept."""
    custom = dict(contact.custom or {})
    for definition in definitions:
        key = definition.key
        if key not in typed:
            continue
        text = typed[key].strip()
        if not text:
            custom.pop(key, None)
            continue
        if text == _as_text(custom.get(key)):
            continue
        value = coerce_custom(definition.type, text)
        unlisted = (definition.type == CustomFieldType.CHOICE and definition.choices
                    and text not in definition.choices)
        if value is None or unlisted:
            errors[f"custom-{key}"] = str(_CUSTOM_ERRORS[definition.type])
        else:
            custom[key] = value
    return custom


def _check_new_phone(session: Session, contact: Contact, raw: str, region: str,
                     errors: dict[str, str]) -> tuple[ParsedPhone | None, int | None]:
    """The number to add, parsed; refused if it is not one, or is already someone's (the
    other contact's id is returned for a link)."""
    if not raw.strip():
        return None, None
    parsed = parse_phone(raw, region)
    if isinstance(parsed, PhoneError):
        errors["new_phone"] = _phone_error(parsed)
        return None, None
    owners = {number: owner.id for number, owner
              in number_owners(session, contact.organization_id, [parsed.e164]).items()}
    if owners.get(parsed.e164) == contact.id:
        errors["new_phone"] = _("This contact already has this number.")
    elif foreign_numbers([parsed.e164], contact.id, owners):
        errors["new_phone"] = _("This number belongs to another contact: it was not moved "
                                "here.")
        return None, owners[parsed.e164]
    return parsed, None


def _phone_error(error: PhoneError) -> str:
    if error.code == "needs_country":
        return _("Write the number with its country code (+…), or choose the contact's "
                 "country.")
    if error.code == "unknown_country_code":
        return _("%(code)s is not a country calling code.", code=error.message.split()[0])
    return _("This is not a phone number we can call. Check it, with the country code if "
             "abroad.")


def _check_labels(contact: Contact, edit: ContactEdit, errors: dict[str, str]
                  ) -> dict[int, PhoneLabel]:
    labels: dict[int, PhoneLabel] = {}
    for phone in contact.phones:
        label = edit.phones.get(phone.id, (str(phone.label), False))[0]
        try:
            labels[phone.id] = PhoneLabel(label)
        except ValueError:
            errors[f"phone-{phone.id}-label"] = _("Choose a kind of number from the list.")
    if edit.new_phone_label and edit.new_phone_label not in set(PhoneLabel):
        errors["new_phone_label"] = _("Choose a kind of number from the list.")
    return labels


def _apply_fields(session: Session, contact: Contact, values: dict[str, Any],
                  custom: dict[str, Any]) -> list[str]:
    """Save the checked fields; the names of those that changed (custom ones as
    `custom.<key>`). A new address puts the contact in that address's household."""
    changed = [name for name in CONTACT_FIELDS if getattr(contact, name) != values[name]]
    for name in changed:
        setattr(contact, name, values[name])
    before = contact.custom or {}
    changed += [f"custom.{key}" for key in sorted(before.keys() | custom.keys())
                if before.get(key) != custom.get(key)]
    contact.custom = custom
    if any(name in changed for name in _ADDRESS):
        key = household_key(household_secret(), "", *(values[name] or "" for name in _ADDRESS))
        if key:
            contact.household = get_or_create_household(session, contact.organization_id, key)
    return changed


def _set_tags(session: Session, contact: Contact, names: tuple[str, ...]) -> bool:
    """Give the contact exactly these tags; whether that changed them."""
    if set(names) == {tag.name for tag in contact.tags}:
        return False
    contact.tags = get_or_create_tags(session, contact.organization_id, list(names))
    return True


def _apply_phones(session: Session, contact: Contact, edit: ContactEdit,
                  labels: dict[int, PhoneLabel], new_phone: ParsedPhone | None,
                  actor_id: int | None) -> bool:
    """Relabel, remove and add numbers; whether any did. The opt-out registry is by number:
    a removed number stays on it, an added one on it makes the contact do-not-contact."""
    changed = False
    for phone in list(contact.phones):
        if edit.phones.get(phone.id, ("", False))[1]:
            contact.phones.remove(phone)
            changed = True
        elif phone.label != labels[phone.id]:
            phone.label, changed = labels[phone.id], True
    if new_phone is not None:
        label = edit.new_phone_label or (PhoneLabel.MOBILE if new_phone.is_mobile
                                         else PhoneLabel.LANDLINE)
        contact.phones.append(ContactPhone(
            organization_id=contact.organization_id, e164=new_phone.e164,
            extension=new_phone.extension, label=PhoneLabel(label),
            is_mobile=new_phone.is_mobile, country=new_phone.country))
        if contact.time_zone is None:
            contact.time_zone = time_zone_for(new_phone, contact.country, contact.postcode)
        if is_opted_out(session, contact.organization_id, new_phone.e164) \
                and not contact.do_not_contact:
            set_do_not_contact(session, contact, True, actor_id)
        changed = True
    for position, phone in enumerate(contact.phones):
        phone.position = position
    return changed
