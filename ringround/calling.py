"""What the caller app needs besides the queue: cards, result checking, progress words.

A card holds only what an operation exposes to its callers (`operation_fields.exposed_fields`),
so whatever is built from it (HTML, JSON, the phone's offline batch) cannot leak hidden fields.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3
from markdown_it import MarkdownIt

from ringround.dispositions import Disposition, dispositions_for
from ringround.models import CallMethod, Contact, DispositionGroup, Operation
from ringround.operation_fields import exposed_fields

NAME_KEYS = ("first_name", "last_name")
SKIP_REASONS = ("language", "knows_person", "uncomfortable", "other")
MILESTONES = (1, 10, 25, 50, 100, 200, 500)
WRAP_UP_AFTER = timedelta(hours=2)
MAX_NOTES = 4000
MAX_ANSWER = 2000
MAX_FIELD = 500
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


class ResultError(ValueError):
    """A result from a phone that cannot be recorded, with a message fit to show."""


@dataclass
class Card:
    """One leased target as a caller sees it: exposed fields only, and the number to dial."""

    target_id: int
    phone: str
    expires_at: datetime | None
    name: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    editable: list[dict[str, Any]] = field(default_factory=list)
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lease_proof: str = ""
    extension: str | None = None

    @property
    def tel_href(self) -> str:
        """The call button's link: the number, then the extension after a pause
        (`tel:+19079737176,744`), which both iOS and Android dial."""
        return f"tel:{self.phone},{self.extension}" if self.extension else f"tel:{self.phone}"


def lease_proof(key: bytes, agent_id: int, operation_id: int, target_id: int) -> str:
    """A keyed proof that this agent was handed this target.

    A result may arrive after its lease ended (an offline phone), when the queue no longer
    says who held the target; the proof shows the sender really was given that person, so a
    volunteer cannot post results for other people of the operation by guessing target ids.
    """
    message = f"lease:{agent_id}:{operation_id}:{target_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def lease_proof_ok(key: bytes, agent_id: int, operation_id: int, target_id: int,
                   proof: object) -> bool:
    """True when `proof` is the one `lease_proof` gave for these ids."""
    expected = lease_proof(key, agent_id, operation_id, target_id)
    return isinstance(proof, str) and hmac.compare_digest(expected, proof)


def build_card(operation: Operation, contact: Contact, target_id: int, phone: str,
               expires_at: datetime | None) -> Card:
    """The card for one lease. The name comes from exposed name fields only; the extension
    is the leased number's own."""
    shown = exposed_fields(operation, contact)
    extension = next((p.extension for p in contact.phones if p.e164 == phone), None)
    names = {f["key"]: f["value"] for f in shown if f["key"] in NAME_KEYS and f["value"]}
    name = " ".join(names[key] for key in NAME_KEYS if key in names)
    return Card(
        target_id=target_id, phone=phone, expires_at=expires_at, name=name,
        fields=[f for f in shown if f["key"] not in NAME_KEYS and not f["editable"]
                and f["value"] not in (None, "")],
        editable=[f for f in shown if f["editable"]], extension=extension or None,
    )


def render_script(markdown: str) -> str:
    """An organizer's Markdown script as safe HTML (no raw HTML, sanitized again by nh3)."""
    return nh3.clean(_markdown.render(markdown or ""))


def caller_dispositions(operation: Operation) -> dict[DispositionGroup, list[Disposition]]:
    """The codes a caller can choose, by group (automatic provider codes left out)."""
    grouped: dict[DispositionGroup, list[Disposition]] = {group: [] for group in DispositionGroup}
    for disposition in dispositions_for(operation.dispositions):
        if not disposition.automatic:
            grouped[disposition.group].append(disposition)
    return grouped


def questions_of(operation: Operation) -> list[dict[str, Any]]:
    """The operation's questions, as stored."""
    return list((operation.questionnaire or {}).get("questions") or [])


def _aware(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise ResultError(f"{name} is not a date and time.") from error
    if moment.tzinfo is None:
        raise ResultError(f"{name} has no time zone.")
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
        raise ResultError("The call-back time is not a date and time.") from error
    return naive.replace(tzinfo=naive.tzinfo or zone).astimezone(UTC)


def clean_result(operation: Operation, payload: dict[str, Any], editable_keys: set[str],
                 time_zone: str | None = None) -> dict[str, Any]:
    """Check and trim one result sent by a phone; keeps only known answers and editable fields.

    Returns the keyword arguments of `queue.ResultIn` that come from the phone.
    """
    client_id = str(payload.get("client_id") or "").strip()
    if not 8 <= len(client_id) <= 64:
        raise ResultError("The result has no valid client id.")
    codes = {d.code: d for group in caller_dispositions(operation).values() for d in group}
    code = str(payload.get("disposition") or "")
    if code not in codes:
        raise ResultError("Choose how the call went.")
    try:
        target_id = int(payload.get("target_id"))
    except (TypeError, ValueError) as error:
        raise ResultError("The result names no person.") from error
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
        callback_at = (_aware(payload.get("callback_at"), "The call-back time")
                       or local_to_utc(payload.get("callback_local"), time_zone))
    method = payload.get("method") or CallMethod.OWN_PHONE
    if method not in set(CallMethod):
        raise ResultError("Unknown call method.")
    return {
        "client_id": client_id, "target_id": target_id, "disposition": code, "answers": answers,
        "notes": str(payload.get("notes") or "").strip()[:MAX_NOTES] or None,
        "field_updates": fields, "method": CallMethod(method),
        "started_at": _aware(payload.get("started_at"), "The start time"),
        "ended_at": _aware(payload.get("ended_at"), "The end time"),
        "callback_at": callback_at,
    }


def local_clock(moment: datetime, time_zone: str | None) -> str:
    """`moment` as HH:MM on the wall clocks of `time_zone` (UTC if unknown)."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return moment.astimezone(zone).strftime("%H:%M")


def milestone_reached(calls_today: int) -> int | None:
    """The milestone just reached (1st, 10th, 25th... call of the day), for a thank-you."""
    return calls_today if calls_today in MILESTONES else None


def needs_wrap_up(first_call_today: datetime | None, now: datetime) -> bool:
    """True after two hours of calling today: time for a gentle reminder (never a logout)."""
    return first_call_today is not None and now - first_call_today >= WRAP_UP_AFTER
