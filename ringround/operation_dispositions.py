"""An operation's dispositions (renamed and added ones), retry rules and voicemail policy.

Stored shapes (the queue reads them):
- `Operation.dispositions`: {"labels": {code: label}, "custom": [{"code", "label", "group"}]}
- `Operation.retry_rules`: {code: {"retries": n, "interval_minutes": m}}; absent = no retry
- `Operation.voicemail_policy`: {"leave_message": bool, "message": str}

The codes, groups and default labels come from the queue's `ringround.dispositions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from ringround.dispositions import BUILTIN as DISPOSITIONS
from ringround.dispositions import BUILTIN_BY_CODE
from ringround.models import Operation
from ringround.operation_rules import DEFAULT_RETRY_RULES as SUGGESTED
from ringround.operation_rules import (
    RetryRule,
    default_retry_rules_json,
    parse_retry_rules,
    validate_dispositions,
    validate_retry_rules,
)
from ringround.questionnaires import choice_value

GROUPS = ("contacted", "no_contact", "remove")

# The catalogue is the queue's (ringround.dispositions): code, group, default label.
# Labels stay lazy strings so that they are translated where shown.
BUILTIN: tuple[tuple[str, str, Any], ...] = tuple(
    (d.code, d.group.value, d.label) for d in DISPOSITIONS if not d.automatic)
# Set by the telephony provider, not by callers: their own retry rows.
AUTOMATIC: tuple[tuple[str, str, Any], ...] = tuple(
    (d.code, d.group.value, d.label) for d in DISPOSITIONS if d.automatic)
BUILTIN_CODES = frozenset(BUILTIN_BY_CODE)
# A sensible starting point for a new operation (the queue's defaults).
DEFAULT_RETRY_RULES = default_retry_rules_json()
DEFAULT_SUGGESTION = RetryRule(3, 90)  # offered for a code without a default rule
MAX_RETRIES = 20
MAX_INTERVAL_MINUTES = 60 * 24 * 30


class DispositionError(ValueError):
    """Disposition settings that cannot be saved, with a message fit to show."""


@dataclass(frozen=True)
class DispositionRow:
    code: str
    group: str
    label: str
    default_label: str
    automatic: bool
    custom: bool
    retries: int | None  # None: no retry
    interval_minutes: int | None
    # What the wizard offers when "Try again" is ticked (the code's default rule, if any).
    suggested_retries: int = 3
    suggested_interval_minutes: int = 90


def disposition_rows(operation: Operation) -> list[DispositionRow]:
    """Every disposition of the operation (built-in, custom, automatic) with its retry rule.

    The rules are read as the queue reads them (`parse_retry_rules`), so a row shows a retry
    exactly when the queue will retry that result."""
    settings = operation.dispositions or {}
    labels = settings.get("labels") or {}
    rules = parse_retry_rules(operation.retry_rules)
    entries = [(c, g, lbl, False, False) for c, g, lbl in BUILTIN]
    entries += [(c["code"], c["group"], c["label"], False, True)
                for c in settings.get("custom") or []]
    entries += [(c, g, lbl, True, False) for c, g, lbl in AUTOMATIC]
    order = {group: i for i, group in enumerate(GROUPS)}
    rows = []
    for code, group, default, automatic, custom in entries:
        rule = rules.get(code) if group != "remove" else None
        rows.append(DispositionRow(
            code=code, group=group, label=labels.get(code) or default, default_label=default,
            automatic=automatic, custom=custom,
            retries=rule.retries if rule else None,
            interval_minutes=rule.interval_minutes if rule else None,
            suggested_retries=(rule or SUGGESTED.get(code) or DEFAULT_SUGGESTION).retries,
            suggested_interval_minutes=(rule or SUGGESTED.get(code)
                                        or DEFAULT_SUGGESTION).interval_minutes,
        ))
    rows.sort(key=lambda row: (row.automatic, order[row.group]))
    return rows


def label_of(operation: Operation, code: str) -> str:
    """The label this operation shows for a disposition code (the code itself if unknown)."""
    return next((str(row.label) for row in disposition_rows(operation) if row.code == code),
                code)


def check_dispositions(
    labels: dict[str, str], custom: list[dict[str, str]]
) -> dict[str, Any]:
    """Renamed labels and added dispositions in their stored shape, or DispositionError."""
    clean_labels: dict[str, str] = {}
    defaults = {code: label for code, _, label in BUILTIN + AUTOMATIC}
    for code, label in labels.items():
        label = (label or "").strip()
        if code not in BUILTIN_CODES:
            continue  # custom ones carry their own label
        if len(label) > 80:
            raise DispositionError(_("Disposition labels are limited to 80 characters."))
        if label and label != str(defaults[code]):
            clean_labels[code] = label
    clean_custom: list[dict[str, str]] = []
    codes = set(BUILTIN_CODES)
    for item in custom:
        label = (item.get("label") or "").strip()
        group = item.get("group")
        if not label:
            raise DispositionError(_("A new disposition needs a label."))
        if len(label) > 80:
            raise DispositionError(_("Disposition labels are limited to 80 characters."))
        if group not in GROUPS:
            raise DispositionError(_("Choose the group the new disposition belongs to."))
        code = item.get("code") or "custom_" + choice_value(label)
        if code in codes:
            raise DispositionError(_("There is already a disposition like “%(label)s”.",
                                      label=label))
        codes.add(code)
        clean_custom.append({"code": code, "label": label, "group": group})
    result = {"labels": clean_labels, "custom": clean_custom}
    problems = validate_dispositions(result)  # the queue's own reading must agree
    if problems:
        raise DispositionError(problems[0])
    return result


def check_retry_rules(
    rules: dict[str, dict[str, int]], custom: list[dict[str, str]] | None = None
) -> dict[str, dict[str, int]]:
    """Retry rules in their stored shape, or DispositionError. `remove` never retries."""
    groups = {code: group for code, group, _ in BUILTIN + AUTOMATIC}
    groups.update({c["code"]: c["group"] for c in custom or []})
    clean = {}
    for code, rule in rules.items():
        if code not in groups:
            raise DispositionError(_("There is no disposition “%(code)s”.", code=code))
        if groups[code] == "remove":
            raise DispositionError(_("Dispositions in the remove group are never retried."))
        retries, interval = rule.get("retries"), rule.get("interval_minutes")
        if not isinstance(retries, int) or not 1 <= retries <= MAX_RETRIES:
            raise DispositionError(_("More attempts must be a number from 1 to %(max)d.",
                                      max=MAX_RETRIES))
        if not isinstance(interval, int) or not 1 <= interval <= MAX_INTERVAL_MINUTES:
            raise DispositionError(_("The time between attempts must be from 1 minute to 30 days."))
        clean[code] = {"retries": retries, "interval_minutes": interval}
    problems = validate_retry_rules(clean)  # the queue's own reading must agree
    if problems:
        raise DispositionError(problems[0])
    return clean


def check_voicemail_policy(leave_message: bool, message: str) -> dict[str, Any]:
    """A voicemail policy in its stored shape, or DispositionError."""
    message = (message or "").strip()
    if leave_message and not message:
        raise DispositionError(_("Say what callers should leave as a message."))
    if len(message) > 1000:
        raise DispositionError(_("The voicemail message is limited to 1000 characters."))
    return {"leave_message": bool(leave_message), "message": message}
