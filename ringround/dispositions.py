"""Dispositions: the caller's result codes, each in one group.

Built-in codes carry English labels (translated at display with Flask-Babel's lazy strings).
An operation may rename them and add its own codes within a group; see `dispositions_for`.
The automatic codes (`auto_*`) come from the telephony provider's call status, never from a
caller's button.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from ringround.models.calls import DispositionGroup

CONTACTED = DispositionGroup.CONTACTED
NO_CONTACT = DispositionGroup.NO_CONTACT
REMOVE = DispositionGroup.REMOVE


@dataclass(frozen=True)
class Disposition:
    """One result code an operation offers."""

    code: str
    label: Any  # a lazy string for built-ins, a plain string for organizers' labels
    group: DispositionGroup
    builtin: bool = True
    automatic: bool = False  # set by the provider's call status, not by a caller


BUILTIN: tuple[Disposition, ...] = (
    Disposition("talked", _l("Talked to them"), CONTACTED),
    Disposition("not_home", _l("Not home"), NO_CONTACT),
    Disposition("busy", _l("Busy"), NO_CONTACT),
    Disposition("no_answer", _l("No answer"), NO_CONTACT),
    Disposition("voicemail", _l("Voicemail"), NO_CONTACT),
    Disposition("call_back", _l("Call back later"), NO_CONTACT),
    Disposition("someone_else", _l("Someone else answered"), NO_CONTACT),
    Disposition("wrong_number", _l("Wrong number"), REMOVE),
    Disposition("disconnected", _l("Disconnected"), REMOVE),
    Disposition("deceased", _l("Deceased"), REMOVE),
    Disposition("refused", _l("Refused"), REMOVE),
    Disposition("hostile", _l("Hostile"), REMOVE),
    Disposition("moved", _l("Moved"), REMOVE),
    Disposition("do_not_call", _l("Do not call"), REMOVE),
    Disposition("auto_busy", _l("Busy (automatic)"), NO_CONTACT, automatic=True),
    Disposition("auto_no_answer", _l("No answer (automatic)"), NO_CONTACT, automatic=True),
    Disposition("auto_voicemail", _l("Answering machine (automatic)"), NO_CONTACT,
                automatic=True),
    Disposition("auto_failed", _l("Call failed (automatic)"), NO_CONTACT, automatic=True),
)
BUILTIN_BY_CODE: dict[str, Disposition] = {d.code: d for d in BUILTIN}

# Results that mark the dialed number (not the person) for every operation.
NUMBER_MARKS = frozenset({"wrong_number", "disconnected"})
# Results that opt the number out and mark the contact "do not contact".
OPT_OUT_CODES = frozenset({"do_not_call"})
# The provider's final call statuses that become a disposition by themselves.
PROVIDER_STATUS_CODES: dict[str, str] = {
    "busy": "auto_busy",
    "no-answer": "auto_no_answer",
    "no_answer": "auto_no_answer",
    "failed": "auto_failed",
    "canceled": "auto_failed",
    "machine": "auto_voicemail",
    "machine_start": "auto_voicemail",
    "machine_end_beep": "auto_voicemail",
    "machine_end_silence": "auto_voicemail",
    "machine_end_other": "auto_voicemail",
    "fax": "auto_failed",
    # The provider refused the number itself (Twilio 21211, 21214): as a caller's "wrong
    # number", the number is marked and not called again.
    "invalid-number": "wrong_number",
}
CODE_MAX_LENGTH = 64


def dispositions_for(config: dict[str, Any] | None) -> list[Disposition]:
    """The dispositions of an operation (its `dispositions` JSON), built-ins first.

    `config` is `{"labels": {code: label}, "custom": [{"code", "label", "group"}]}`; custom
    codes that clash with a built-in or have an unknown group are ignored (validation in
    `ringround.operation_rules.validate_dispositions` reports them to the organizer).
    """
    config = config or {}
    labels = config.get("labels") or {}
    result = [
        Disposition(d.code, labels.get(d.code) or d.label, d.group, True, d.automatic)
        for d in BUILTIN
    ]
    seen = set(BUILTIN_BY_CODE)
    for item in config.get("custom") or []:
        code = str(item.get("code") or "").strip()
        try:
            group = DispositionGroup(item.get("group"))
        except ValueError:
            continue
        if not code or code in seen or len(code) > CODE_MAX_LENGTH:
            continue
        seen.add(code)
        result.append(Disposition(code, str(item.get("label") or code), group, builtin=False))
    return result


def disposition_map(config: dict[str, Any] | None) -> dict[str, Disposition]:
    """`dispositions_for` keyed by code."""
    return {d.code: d for d in dispositions_for(config)}


def group_of(code: str, config: dict[str, Any] | None = None) -> DispositionGroup | None:
    """The group of a code in an operation, or None if the operation does not know it."""
    found = BUILTIN_BY_CODE.get(code)
    if found is not None:
        return found.group
    found = disposition_map(config).get(code)
    return found.group if found else None
