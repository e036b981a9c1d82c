"""Lists: filters over an organization's contacts, their live count, saved lists, bulk tags.

A filter is a plain dict (saved in `SavedList.filter` and `Operation.source_filter`); every
key is optional and an empty filter matches every contact:

    {"tags_any": [names], "tags_all": [names], "tags_none": [names],
     "fields": [{"field": "city" | "<custom key>", "op": "equals" | "contains", "value": "…"}],
     "city": "…", "postcode_prefix": "…", "language": "…", "country": "XX",
     "has_mobile": true, "created_since": "YYYY-MM-DD", "not_called_days": N}
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from ringround.models import Attempt, Contact, ContactPhone, SavedList, Tag, contact_tags, utcnow
from ringround.people.merge import get_or_create_tags
from ringround.queue.exclusions import contacts_changed

FILTER_KEYS = ("tags_any", "tags_all", "tags_none", "fields", "city", "postcode_prefix",
               "language", "country", "has_mobile", "created_since", "not_called_days")
COLUMN_FIELDS = ("first_name", "last_name", "email", "street", "postcode", "city", "country",
                 "language", "time_zone", "source")


class FilterError(ValueError):
    """A filter that cannot be applied (bad date, unknown operator…)."""


def _tag_exists(org_id: int, names: list[str]):
    return exists(select(contact_tags.c.contact_id).join(Tag, Tag.id == contact_tags.c.tag_id)
                  .where(contact_tags.c.contact_id == Contact.id, Tag.organization_id == org_id,
                         Tag.name.in_(names)))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _field_condition(spec: dict[str, Any]):
    name = str(spec.get("field") or "").strip()
    op = spec.get("op") or "equals"
    value = str(spec.get("value") or "").strip()
    if not name:
        raise FilterError(_("A field condition needs a field."))
    if op not in ("equals", "contains"):
        raise FilterError(_("Unknown operator “%(op)s”.", op=op))
    if name in COLUMN_FIELDS:
        column = func.lower(getattr(Contact, name))
    else:
        column = func.lower(cast(Contact.custom[name].as_string(), String))
    if op == "equals":
        return column == value.lower()
    return column.like(f"%{_like_escape(value.lower())}%", escape="\\")


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in (value or []) if str(v).strip()]


def contact_ids_select(org_id: int, filter: dict[str, Any] | None) -> Select:  # noqa: A002
    """A SELECT of the ids of the organization's contacts matching `filter`."""
    filter = filter or {}  # noqa: A001
    conditions = [Contact.organization_id == org_id]
    if names := _names(filter.get("tags_any")):
        conditions.append(_tag_exists(org_id, names))
    for name in _names(filter.get("tags_all")):
        conditions.append(_tag_exists(org_id, [name]))
    if names := _names(filter.get("tags_none")):
        conditions.append(~_tag_exists(org_id, names))
    for spec in filter.get("fields") or []:
        conditions.append(_field_condition(spec))
    if city := str(filter.get("city") or "").strip():
        conditions.append(func.lower(Contact.city) == city.lower())
    if prefix := str(filter.get("postcode_prefix") or "").strip():
        conditions.append(func.upper(Contact.postcode).like(
            f"{_like_escape(prefix.upper())}%", escape="\\"))
    if language := str(filter.get("language") or "").strip():
        conditions.append(func.lower(Contact.language) == language.lower())
    if country := str(filter.get("country") or "").strip():
        conditions.append(Contact.country == country.upper())
    if filter.get("has_mobile"):
        conditions.append(exists(select(ContactPhone.id).where(
            ContactPhone.contact_id == Contact.id, ContactPhone.is_mobile.is_(True))))
    if since := filter.get("created_since"):
        try:
            day = since if isinstance(since, date) else date.fromisoformat(str(since))
        except ValueError as error:
            raise FilterError(_("Created since must be a date (YYYY-MM-DD).")) from error
        conditions.append(Contact.created_at >= datetime(day.year, day.month, day.day,
                                                         tzinfo=UTC))
    days = filter.get("not_called_days")
    if days not in (None, ""):
        try:
            days = int(days)
        except (TypeError, ValueError) as error:
            raise FilterError(_("Not called for N days needs a number.")) from error
        since_time = utcnow() - timedelta(days=days)
        conditions.append(~exists(select(Attempt.id).where(
            Attempt.contact_id == Contact.id, Attempt.created_at >= since_time)))
    return select(Contact.id).where(and_(*conditions))


def count_matching(session: Session, org_id: int, filter: dict[str, Any] | None) -> int:  # noqa: A002
    """How many of the organization's contacts match `filter`."""
    subquery = contact_ids_select(org_id, filter).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def clean_filter(raw: dict[str, Any]) -> dict[str, Any]:
    """Only the known keys, without empty values (what is saved in a list)."""
    clean: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = raw.get(key)
        if key in ("tags_any", "tags_all", "tags_none"):
            value = _names(value)
        elif key == "fields":
            value = [{"field": str(f.get("field")).strip(), "op": f.get("op") or "equals",
                      "value": str(f.get("value") or "")}
                     for f in (value or []) if f.get("field")]
        elif key == "has_mobile":
            value = bool(value)
        elif key == "not_called_days" and value not in (None, ""):
            value = int(value)
        elif isinstance(value, str):
            value = value.strip()
        if value not in (None, "", [], False):
            clean[key] = value
    return clean


def save_list(session: Session, org_id: int, name: str, filter: dict[str, Any]) -> SavedList:  # noqa: A002
    """Save (or replace) a named list."""
    name = name.strip()[:120]
    if not name:
        raise FilterError(_("A list needs a name."))
    saved = session.scalar(select(SavedList).where(
        SavedList.organization_id == org_id, SavedList.name == name))
    if saved is None:
        saved = SavedList(organization_id=org_id, name=name)
        session.add(saved)
    saved.filter = clean_filter(filter)
    session.flush()
    return saved


def list_by_name(session: Session, org_id: int, name: str) -> SavedList | None:
    return session.scalar(select(SavedList).where(
        SavedList.organization_id == org_id, SavedList.name == name))


def bulk_tag(session: Session, org_id: int, filter: dict[str, Any], tag_name: str,  # noqa: A002
             add: bool = True) -> int:
    """Put `tag_name` on (or take it off) every contact matching `filter`. Returns how many
    contacts changed."""
    ids = contact_ids_select(org_id, filter)
    if add:
        (tag,) = get_or_create_tags(session, org_id, [tag_name])
        missing = ids.where(~exists(select(contact_tags.c.contact_id).where(
            contact_tags.c.contact_id == Contact.id, contact_tags.c.tag_id == tag.id)))
        result = session.execute(insert(contact_tags).from_select(
            ["contact_id", "tag_id"],
            select(Contact.id, literal(tag.id)).where(Contact.id.in_(missing))))
        contacts_changed(session, org_id)  # a tag exclusion may now apply
        return result.rowcount or 0
    tag = session.scalar(select(Tag).where(Tag.organization_id == org_id, Tag.name == tag_name))
    if tag is None:
        return 0
    result = session.execute(delete(contact_tags).where(
        contact_tags.c.tag_id == tag.id, contact_tags.c.contact_id.in_(ids)))
    contacts_changed(session, org_id)
    return result.rowcount or 0


def filter_from_args(args) -> dict[str, Any]:
    """A filter from the filter builder's form fields (a request's args or form)."""
    raw: dict[str, Any] = {key: args.get(key, "") for key in FILTER_KEYS
                           if key not in ("fields", "has_mobile")}
    raw["has_mobile"] = args.get("has_mobile") in ("1", "on", "true", "yes")
    if args.get("field") and args.get("field_value"):
        raw["fields"] = [{"field": args.get("field"), "op": args.get("field_op") or "equals",
                          "value": args.get("field_value")}]
    days = str(raw.get("not_called_days") or "").strip()
    if days and not days.isdigit():
        raise FilterError(_("Not called for N days needs a number."))
    return clean_filter(raw)


def filter_to_args(filter: dict[str, Any]) -> dict[str, str]:  # noqa: A002
    """The form fields that rebuild `filter` (the inverse of `filter_from_args`)."""
    args: dict[str, str] = {}
    for key, value in (filter or {}).items():
        if key in ("tags_any", "tags_all", "tags_none"):
            args[key] = ", ".join(value)
        elif key == "fields" and value:
            args.update(field=value[0]["field"], field_op=value[0].get("op", "equals"),
                        field_value=value[0].get("value", ""))
        elif key == "has_mobile":
            args[key] = "1" if value else ""
        else:
            args[key] = str(value)
    return args
