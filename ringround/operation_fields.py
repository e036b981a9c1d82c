"""Which contact fields callers of an operation see, may edit, and see first; and whether
they see the number they call (`number_shown`).

Stored in `Operation.field_settings` as {"fields": [{"key", "visibility", "highlight"}]} in
display order. A field not listed is hidden: callers only ever see what an organizer chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ringround.models import Contact, CustomField, Operation

VISIBILITIES = ("hidden", "visible", "editable")

# Built-in contact fields an operation may expose, with their labels, in a sensible order.
BUILTIN_FIELDS = (
    ("first_name", _l("First name")), ("last_name", _l("Last name")),
    ("language", _l("Language")), ("city", _l("City")), ("postcode", _l("Postcode")),
    ("street", _l("Street")), ("country", _l("Country")), ("email", _l("Email")),
    ("date_of_birth", _l("Date of birth")), ("time_zone", _l("Time zone")),
    ("source", _l("Source")),
)
# Never editable by callers whatever the settings say (also: custom fields marked so).
NEVER_EDITABLE_KEYS = frozenset({"date_of_birth", "donations"})
# Shown when an operation has not chosen its fields yet: a name to greet, little else.
DEFAULT_SETTINGS = [
    {"key": "first_name", "visibility": "visible", "highlight": True},
    {"key": "last_name", "visibility": "visible", "highlight": False},
    {"key": "language", "visibility": "visible", "highlight": False},
    {"key": "city", "visibility": "visible", "highlight": False},
]


class FieldSettingsError(ValueError):
    """Field settings that cannot be saved, with a message fit to show."""


@dataclass(frozen=True)
class FieldInfo:
    key: str
    label: str
    custom: bool
    never_editable: bool


def available_fields(session: Session, org_id: int) -> list[FieldInfo]:
    """Every field an operation of this organization can show: built-in ones, then custom."""
    fields = [FieldInfo(key, str(label), False, key in NEVER_EDITABLE_KEYS)
              for key, label in BUILTIN_FIELDS]
    builtin = {key for key, _ in BUILTIN_FIELDS}
    custom = session.scalars(
        select(CustomField).where(CustomField.organization_id == org_id).order_by(CustomField.id)
    )
    fields += [FieldInfo(f.key, f.label, True, f.never_editable or f.key in NEVER_EDITABLE_KEYS)
               for f in custom if f.key not in builtin]
    return fields


# Settings by (operation id, settings version, locale): the caller app reads them at every
# card and result. The version (`caller_access.CallerAccess.settings_version`) holds the
# operation's last change and its organization's custom fields, so an edit is seen at the next
# request of every worker; the locale, because the built-in fields' labels are in the reader's
# language. Values are shared: callers must not modify them.
_by_version: dict[tuple, list[dict[str, Any]]] = {}
_CACHE_SIZE = 512


def effective_settings(session: Session, operation: Operation,
                       version: tuple | None = None) -> list[dict[str, Any]]:
    """One row per available field (with label), stored order first, unlisted ones hidden.

    With `version` (see `_by_version`), built once per operation, version and language."""
    if version is None:
        return _effective_settings(session, operation)
    key = (operation.id, version, str(get_locale()))
    rows = _by_version.get(key)
    if rows is None:
        rows = _effective_settings(session, operation)
        if len(_by_version) >= _CACHE_SIZE:
            _by_version.clear()
        _by_version[key] = rows
    return rows


def _effective_settings(session: Session, operation: Operation) -> list[dict[str, Any]]:
    infos = {f.key: f for f in available_fields(session, operation.organization_id)}
    stored = (operation.field_settings or {}).get("fields")
    if stored is None:
        stored = DEFAULT_SETTINGS
    rows: list[dict[str, Any]] = []
    for item in stored:
        info = infos.pop(item.get("key"), None)
        if info is None:
            continue  # a custom field since deleted
        visibility = item.get("visibility", "hidden")
        if visibility == "editable" and info.never_editable:
            visibility = "visible"
        rows.append({"key": info.key, "label": info.label, "visibility": visibility,
                     "highlight": bool(item.get("highlight")), "custom": info.custom,
                     "never_editable": info.never_editable})
    rows += [{"key": info.key, "label": info.label, "visibility": "hidden", "highlight": False,
              "custom": info.custom, "never_editable": info.never_editable}
             for info in infos.values()]
    return rows


def check_field_settings(
    session: Session, org_id: int, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    """Settings in their stored shape, or FieldSettingsError (unknown field, bad visibility,
    or an attempt to make a never-editable field editable)."""
    infos = {f.key: f for f in available_fields(session, org_id)}
    seen: set[str] = set()
    result = []
    for item in fields:
        key = item.get("key")
        info = infos.get(key)
        if info is None:
            raise FieldSettingsError(_("There is no contact field called %(key)s.", key=key))
        if key in seen:
            raise FieldSettingsError(_("The field %(label)s is listed twice.", label=info.label))
        seen.add(key)
        visibility = item.get("visibility", "hidden")
        if visibility not in VISIBILITIES:
            raise FieldSettingsError(_("%(label)s: choose hidden, visible or editable.",
                                       label=info.label))
        if visibility == "editable" and info.never_editable:
            raise FieldSettingsError(_("%(label)s can never be made editable by callers.",
                                       label=info.label))
        result.append({"key": key, "visibility": visibility,
                       "highlight": bool(item.get("highlight")) and visibility != "hidden"})
    return {"fields": result}


def _value(contact: Contact, key: str, custom: bool) -> Any:
    if custom:
        return (contact.custom or {}).get(key)
    value = getattr(contact, key, None)
    return value.isoformat() if hasattr(value, "isoformat") else value


def exposed_fields(operation: Operation, contact: Contact,
                   version: tuple | None = None) -> list[dict[str, Any]]:
    """The fields callers of this operation may see for this contact, highlighted first.

    Each item: key, label, value, editable, highlight. Hidden fields never appear.
    """
    session = object_session(operation)
    rows = effective_settings(session, operation, version) if session is not None else []
    shown = [row for row in rows if row["visibility"] != "hidden"]
    shown.sort(key=lambda row: not row["highlight"])  # stable: keeps the organizer's order
    return [{"key": row["key"], "label": row["label"],
             "value": _value(contact, row["key"], row["custom"]),
             "editable": row["visibility"] == "editable" and not row["never_editable"],
             "highlight": row["highlight"]} for row in shown]


def number_shown(operation: Operation) -> bool:
    """Whether callers of this operation see a person's number and dial it themselves (the
    card's `tel:` button, offline batches): only when the operation allows the caller's own
    phone. With the campaign line only, the number never leaves the server: the line dials it,
    and neither side sees the other's number."""
    return bool(operation.allow_own_phone)


def editable_field_keys(session: Session, operation: Operation,
                        version: tuple | None = None) -> set[str]:
    """Keys of the fields callers may change for this operation's contacts."""
    return {row["key"] for row in effective_settings(session, operation, version)
            if row["visibility"] == "editable" and not row["never_editable"]}
