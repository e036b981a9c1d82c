"""What the caller app needs besides the queue: cards, result checking, progress words.

A card holds only what an operation exposes to its callers (`operation_fields.exposed_fields`),
and the number only when they may dial it themselves (`operation_fields.number_shown`), so
whatever is built from it (HTML, JSON, the phone's offline batch) cannot leak either.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import escape, unescape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ringround.dispositions import Disposition, dispositions_for
from ringround.models import CallMethod, Contact, DispositionGroup, Operation, Target
from ringround.operation_fields import exposed_fields, number_shown
from ringround.script_placeholders import PLACEHOLDER_RE, placeholders, script_values

NAME_KEYS = ("first_name", "last_name")
SKIP_REASONS = ("language", "knows_person", "uncomfortable", "other")
MILESTONES = (1, 10, 25, 50, 100, 200, 500)
WRAP_UP_AFTER = timedelta(hours=2)
MAX_NOTES = 4000
MAX_ANSWER = 2000
MAX_FIELD = 500
_LINK_ATTRIBUTE = re.compile(r'\b(href|src)="([^"]*)"')
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


class ResultError(ValueError):
    """A result from a phone that cannot be recorded, with a message fit to show."""


@dataclass
class Card:
    """One leased target as a caller sees it: exposed fields only, and the number to dial
    (None, with its extension, when the operation calls through the campaign line only)."""

    target_id: int
    phone: str | None
    expires_at: datetime | None
    name: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    editable: list[dict[str, Any]] = field(default_factory=list)
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lease_proof: str = ""
    script_html: str = ""  # the operation's script with this person's placeholders filled
    extension: str | None = None

    @property
    def tel_href(self) -> str | None:
        """The call button's link: the number, then the extension after a pause
        (`tel:+19079737176,744`), which both iOS and Android dial; None without a number."""
        if self.phone is None:
            return None
        return f"tel:{self.phone},{self.extension}" if self.extension else f"tel:{self.phone}"


def result_time_zone(session: Session, target_id: int) -> str | None:
    """The time zone a result's call-back time is in: its target's, else its contact's."""
    row = session.execute(select(Target.time_zone, Contact.time_zone)
                          .outerjoin(Contact, Contact.id == Target.contact_id)
                          .where(Target.id == target_id)).first()
    return (row[0] or row[1]) if row else None


_FROM_PHONES = object()


def _name_of(shown: list[dict]) -> str:
    names = {f["key"]: f["value"] for f in shown if f["key"] in NAME_KEYS and f["value"]}
    return " ".join(names[key] for key in NAME_KEYS if key in names)


def shown_name(operation: Operation, contact: Contact | None, version: tuple | None = None
               ) -> str:
    """The contact's name as this operation's callers may see it (from exposed fields only,
    as on the card); empty when no name field is exposed or the contact is gone."""
    return _name_of(exposed_fields(operation, contact, version)) if contact else ""


def build_card(operation: Operation, contact: Contact, target_id: int, phone: str,
               expires_at: datetime | None, caller_name: str = "",
               organization_name: str = "", version: tuple | None = None,
               extension: str | None | object = _FROM_PHONES) -> Card:
    """The card for one lease. The name, and the script's placeholders, come from exposed
    fields only; the extension is the leased number's own (looked up in the contact's phones
    unless given). Number and extension stay off the card when the operation calls through
    the campaign line only (`number_shown`, read from the operation row). `version`: the
    operation's settings version, to use its cached settings
    (`operation_fields.effective_settings`)."""
    shown = exposed_fields(operation, contact, version)
    dialed: str | None = phone
    if not number_shown(operation):
        dialed, extension = None, None
    elif extension is _FROM_PHONES:
        extension = next((p.extension for p in contact.phones if p.e164 == phone), None)
    name = _name_of(shown)
    return Card(
        target_id=target_id, phone=dialed, expires_at=expires_at, name=name,
        fields=[f for f in shown if f["key"] not in NAME_KEYS and not f["editable"]
                and f["value"] not in (None, "")],
        editable=[f for f in shown if f["editable"]], extension=extension or None,
        script_html=card_script(operation, shown, caller_name, organization_name, version),
    )


def offline_refusal(operation: Operation) -> str | None:
    """Why nobody can be taken for offline calling in this operation, or None. Offline, a
    caller dials from their own phone; with the campaign line only there is nothing to dial."""
    if number_shown(operation):
        return None
    return _("This operation calls through the campaign line only, which needs a connection: "
             "nobody can be taken for offline calling.")


def card_script(operation: Operation, shown: list[dict[str, Any]], caller_name: str,
                organization_name: str, version: tuple | None = None) -> str:
    """The operation's script for one card (`shown`: its exposed fields; none for a page
    without a person, where the person's placeholders stay empty)."""
    session = object_session(operation)
    offered = placeholders(session, operation, version) if session is not None else []
    values = script_values(offered, shown, caller_name, organization_name)
    return render_script(operation.script, values)


def render_script(markdown: str, values: dict[str, str] | None = None) -> str:
    """An organizer's Markdown script as safe HTML (no raw HTML, sanitized again by nh3).

    Placeholders named in `values` are filled with those values as plain text: each becomes
    an inert random token before the Markdown is rendered, then the escaped value, then nh3
    cleans the whole again, so a contact's name can add neither HTML nor Markdown (nor a
    `javascript:` link). Other `{words}` stay as typed. The Markdown is rendered once per
    script and set of placeholder names (`_with_tokens`); each card only fills and cleans.
    """
    values = values or {}
    html, tokens = _with_tokens(markdown or "", frozenset(values))
    filled = {token: escape(values[name]) for token, name in tokens}

    def in_link(match: re.Match[str]) -> str:  # inside a link, a value is part of the URL
        url = match.group(2)
        for token, value in filled.items():
            url = url.replace(token, escape(quote(unescape(value), safe="")))
        return f'{match.group(1)}="{url}"'

    if filled:
        html = _LINK_ATTRIBUTE.sub(in_link, html)
    for token, value in filled.items():
        html = html.replace(token, value)
    return nh3.clean(html)


@lru_cache(maxsize=256)
def _with_tokens(markdown: str, names: frozenset[str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The script rendered with each placeholder in `names` as an inert token (random, made
    here: never in a script or a value), and which token stands for which name."""
    nonce = secrets.token_hex(6)
    tokens: list[tuple[str, str]] = []

    def hold(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            return match.group(0)
        token = f"rrph{nonce}n{len(tokens)}x"
        tokens.append((token, match.group(1)))
        return token

    return _markdown.render(PLACEHOLDER_RE.sub(hold, markdown)), tuple(tokens)


def caller_dispositions(operation: Operation) -> dict[DispositionGroup, list[Disposition]]:
    """The codes a caller can choose, by group (automatic provider codes left out)."""
    grouped: dict[DispositionGroup, list[Disposition]] = {group: [] for group in DispositionGroup}
    for disposition in dispositions_for(operation.dispositions):
        if not disposition.automatic:
            grouped[disposition.group].append(disposition)
    return grouped


def chosen_disposition(operation: Operation, group: str | None, code: str | None) -> str:
    """The code a result form names: the code chosen within the chosen group, or the group's
    only code when it has one. ResultError says what is still to choose."""
    try:
        chosen = DispositionGroup(group)
    except ValueError as error:
        raise ResultError(_("Choose how the call went.")) from error
    codes = caller_dispositions(operation)[chosen]
    if code in {d.code for d in codes}:
        return str(code)
    if len(codes) == 1:
        return codes[0].code
    raise ResultError(missing_detail(chosen))


def missing_detail(group: DispositionGroup) -> str:
    """What to say when a group is chosen but not which of its codes."""
    return {DispositionGroup.CONTACTED: _("Choose how the conversation went."),
            DispositionGroup.NO_CONTACT: _("Choose what happened."),
            DispositionGroup.REMOVE: _("Choose why the number should be removed.")}[group]


def questions_of(operation: Operation) -> list[dict[str, Any]]:
    """The operation's questions, as stored."""
    return list((operation.questionnaire or {}).get("questions") or [])


def _aware(value: Any, name: object) -> datetime | None:
    """A time sent by the phone, in UTC (`name`: what it is, as a person reads it)."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise ResultError(_("%(field)s is not a date and time.", field=name)) from error
    if moment.tzinfo is None:
        raise ResultError(_("%(field)s has no time zone.", field=name))
    return moment.astimezone(UTC)


def local_to_utc(value: str | None, time_zone: str | None) -> datetime | None:
    """A `YYYY-MM-DDTHH:MM` wall-clock time in the contact's zone (UTC if unknown), in UTC."""
    if not value:
        return None
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    try:
        naive = datetime.fromisoformat(value)
    except ValueError as error:
        raise ResultError(_("The call-back time is not a date and time.")) from error
    return naive.replace(tzinfo=naive.tzinfo or zone).astimezone(UTC)


def clean_result(operation: Operation, payload: dict[str, Any], editable_keys: set[str],
                 time_zone: str | None = None) -> dict[str, Any]:
    """Check and trim one result sent by a phone; keeps only known answers and editable fields.

    Returns the keyword arguments of `queue.ResultIn` that come from the phone.
    """
    client_id = str(payload.get("client_id") or "").strip()
    if not 8 <= len(client_id) <= 64:
        raise ResultError(_("The result has no valid client id."))
    codes = {d.code: d for group in caller_dispositions(operation).values() for d in group}
    code = str(payload.get("disposition") or "")
    if code not in codes:
        raise ResultError(_("Choose how the call went."))
    try:
        target_id = int(payload.get("target_id"))
    except (TypeError, ValueError) as error:
        raise ResultError(_("The result names no person.")) from error
    answers: dict[str, str] = {}
    if codes[code].group == DispositionGroup.CONTACTED:
        known = {str(q.get("id")) for q in questions_of(operation)}
        for key, value in (payload.get("answers") or {}).items():
            if str(key) in known and value not in (None, ""):
                answers[str(key)] = str(value)[:MAX_ANSWER]
    fields = {str(key): str(value)[:MAX_FIELD]
              for key, value in (payload.get("field_updates") or {}).items()
              if str(key) in editable_keys}
    callback_at = None
    if code == "call_back":
        callback_at = (_aware(payload.get("callback_at"), _l("The call-back time"))
                       or local_to_utc(payload.get("callback_local"), time_zone))
    method = payload.get("method") or CallMethod.OWN_PHONE
    if method not in set(CallMethod):
        raise ResultError(_("Unknown call method."))
    return {
        "client_id": client_id, "target_id": target_id, "disposition": code, "answers": answers,
        "notes": str(payload.get("notes") or "").strip()[:MAX_NOTES] or None,
        "field_updates": fields, "method": CallMethod(method),
        "started_at": _aware(payload.get("started_at"), _l("The start time")),
        "ended_at": _aware(payload.get("ended_at"), _l("The end time")),
        "callback_at": callback_at,
    }


def local_moment(moment: datetime, time_zone: str | None) -> datetime:
    """`moment` on the wall clocks of `time_zone` (UTC if unknown)."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return moment.astimezone(zone)


def local_clock(moment: datetime, time_zone: str | None) -> str:
    """`moment` as HH:MM on the wall clocks of `time_zone` (UTC if unknown)."""
    return local_moment(moment, time_zone).strftime("%H:%M")


def milestone_reached(calls_today: int) -> int | None:
    """The milestone just reached (1st, 10th, 25th... call of the day), for a thank-you."""
    return calls_today if calls_today in MILESTONES else None


def needs_wrap_up(first_call_today: datetime | None, now: datetime) -> bool:
    """True after two hours of calling today: time for a gentle reminder (never a logout)."""
    return first_call_today is not None and now - first_call_today >= WRAP_UP_AFTER
