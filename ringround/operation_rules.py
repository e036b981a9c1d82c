"""An operation's rules, parsed from its JSON columns into typed values with defaults.

The wizard stores plain JSON on `Operation` (`retry_rules`, `exclusions`, `dispositions`);
the queue reads it through `rules_for(operation)`. `validate_*` return a list of problems fit
to show an organizer (empty when all is well); parsing never raises on old or odd data, it
skips what it cannot understand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from flask_babel import lazy_gettext as _l

from ringround.dispositions import BUILTIN_BY_CODE, CODE_MAX_LENGTH, disposition_map
from ringround.models.calls import DispositionGroup

MAX_RETRIES = 20
MAX_INTERVAL_MINUTES = 60 * 24 * 60  # sixty days


@dataclass(frozen=True)
class RetryRule:
    """After this disposition, up to `retries` more calls, `interval_minutes` apart."""

    retries: int
    interval_minutes: int


# Sensible defaults for a new operation (the wizard shows them pre-filled).
DEFAULT_RETRY_RULES: dict[str, RetryRule] = {
    "no_answer": RetryRule(3, 90),
    "call_back": RetryRule(2, 120),
    "busy": RetryRule(3, 30),
    "not_home": RetryRule(2, 240),
    "voicemail": RetryRule(2, 240),
    "someone_else": RetryRule(2, 240),
    "auto_busy": RetryRule(3, 30),
    "auto_no_answer": RetryRule(3, 90),
    "auto_voicemail": RetryRule(2, 240),
    "auto_failed": RetryRule(2, 240),
}


def default_retry_rules_json() -> dict[str, dict[str, int]]:
    """DEFAULT_RETRY_RULES in the JSON shape stored on `Operation.retry_rules`."""
    return {code: {"retries": r.retries, "interval_minutes": r.interval_minutes}
            for code, r in DEFAULT_RETRY_RULES.items()}


EXCLUSION_KINDS = ("field_equals", "answered", "tag", "opted_out")
# Each kind as the wizard says it, after "Remove targets who …".
EXCLUSION_KIND_LABELS = {
    "field_equals": _l("have a field set to a value"),
    "answered": _l("already answered a question"), "tag": _l("carry a tag"),
    "opted_out": _l("opted out"),
}
DONE_KINDS = ("answered",)


@dataclass(frozen=True)
class ExclusionRule:
    """A reason to take a target out of the operation (it becomes `removed` with `label`).

    kinds: `field_equals` (a contact field, built-in or custom, equals `value`), `answered`
    (a question of this operation was answered, with `answer` or any answer when None),
    `tag` (the contact carries `tag`), `opted_out` (the number or the contact opted out).
    """

    kind: str
    label: str
    field: str | None = None
    value: Any = None
    question: str | None = None
    answer: Any = None
    tag: str | None = None


@dataclass(frozen=True)
class DoneCondition:
    """An answer that retires a target as done (e.g. signed up), maybe reselected later."""

    kind: str
    question: str
    label: str
    answer: Any = None  # None: any answer
    reselect_after_days: int | None = None


@dataclass(frozen=True)
class Exclusions:
    household_wide: bool = False
    rules: tuple[ExclusionRule, ...] = ()
    done_conditions: tuple[DoneCondition, ...] = ()


@dataclass(frozen=True)
class OperationRules:
    """Everything the queue needs to know about an operation's rules, typed."""

    retry: dict[str, RetryRule]
    exclusions: Exclusions
    cooldown_minutes: int = 0
    max_calls_per_person: int | None = None
    window_start: time = time(9, 0)
    window_end: time = time(21, 0)
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))

    def retry_for(self, code: str, group: DispositionGroup) -> RetryRule | None:
        """The retry rule of a code; the `remove` group is never retried."""
        if group == DispositionGroup.REMOVE:
            return None
        return self.retry.get(code)


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def parse_retry_rules(data: dict[str, Any] | None) -> dict[str, RetryRule]:
    """`{"no_answer": {"retries": 3, "interval_minutes": 90}}` -> typed rules.

    A code absent means no retry (a new operation starts with DEFAULT_RETRY_RULES as its
    column default); None means the defaults. Zero retries and `remove` codes are dropped.
    """
    if data is None:
        return dict(DEFAULT_RETRY_RULES)
    rules = {}
    for code, rule in data.items():
        builtin = BUILTIN_BY_CODE.get(code)
        if not isinstance(rule, dict) or (builtin and builtin.group == DispositionGroup.REMOVE):
            continue
        retries = _int(rule.get("retries"), 0, 0, MAX_RETRIES)
        interval = _int(rule.get("interval_minutes"), 60, 0, MAX_INTERVAL_MINUTES)
        if retries > 0:
            rules[str(code)] = RetryRule(retries, interval)
    return rules


def _answer(value: Any) -> Any:
    return None if value in (None, "") else value


def parse_exclusions(data: dict[str, Any] | None) -> Exclusions:
    """The `exclusions` JSON -> typed `Exclusions` (unknown kinds are skipped)."""
    data = data or {}
    rules = []
    for item in data.get("rules") or []:
        if not isinstance(item, dict) or item.get("kind") not in EXCLUSION_KINDS:
            continue
        kind = item["kind"]
        label = str(item.get("label") or kind)
        if kind == "field_equals" and item.get("field"):
            rules.append(ExclusionRule(kind, label, field=str(item["field"]),
                                       value=item.get("value")))
        elif kind == "answered" and item.get("question"):
            rules.append(ExclusionRule(kind, label, question=str(item["question"]),
                                       answer=_answer(item.get("answer"))))
        elif kind == "tag" and item.get("tag"):
            rules.append(ExclusionRule(kind, label, tag=str(item["tag"])))
        elif kind == "opted_out":
            rules.append(ExclusionRule(kind, label))
    done = []
    for item in data.get("done_conditions") or []:
        if not isinstance(item, dict) or item.get("kind") not in DONE_KINDS:
            continue
        if not item.get("question"):
            continue
        days = item.get("reselect_after_days")
        done.append(DoneCondition(
            kind=item["kind"], question=str(item["question"]),
            label=str(item.get("label") or item["question"]), answer=_answer(item.get("answer")),
            reselect_after_days=None if days in (None, "") else _int(days, 30, 1, 3650),
        ))
    return Exclusions(bool(data.get("household_wide")), tuple(rules), tuple(done))


def parse_weekdays(value: str | None) -> frozenset[int]:
    """"0123456" (Monday is 0) -> {0, ..., 6}; an empty string means no day at all."""
    return frozenset(int(ch) for ch in (value or "") if ch in "0123456")


def rules_for(operation) -> OperationRules:
    """The typed rules of an `Operation`."""
    cap = operation.max_calls_per_person
    return OperationRules(
        retry=parse_retry_rules(operation.retry_rules),
        exclusions=parse_exclusions(operation.exclusions),
        cooldown_minutes=max(0, operation.cooldown_minutes or 0),
        max_calls_per_person=cap if cap and cap > 0 else None,
        window_start=operation.window_start or time(9, 0),
        window_end=operation.window_end or time(21, 0),
        weekdays=parse_weekdays(operation.weekdays if operation.weekdays is not None
                                else "0123456"),
    )


# Validation, for the wizard: messages in plain English (the wizard may translate them).

def validate_retry_rules(data: Any) -> list[str]:
    """Problems with a `retry_rules` JSON value."""
    if not isinstance(data, dict):
        return ["Retry rules must be a mapping of disposition codes."]
    problems = []
    for code, rule in data.items():
        if not isinstance(rule, dict):
            problems.append(f"{code}: the rule must give retries and interval_minutes.")
            continue
        builtin = BUILTIN_BY_CODE.get(code)
        if builtin is not None and builtin.group == DispositionGroup.REMOVE:
            problems.append(f"{code}: results in the remove group are never retried.")
        for key, high in (("retries", MAX_RETRIES), ("interval_minutes", MAX_INTERVAL_MINUTES)):
            value = rule.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
                problems.append(f"{code}: {key} must be a whole number from 0 to {high}.")
    return problems


def validate_exclusions(data: Any) -> list[str]:
    """Problems with an `exclusions` JSON value."""
    if not isinstance(data, dict):
        return ["Exclusions must be a mapping."]
    problems = []
    for item in data.get("rules") or []:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in EXCLUSION_KINDS:
            problems.append(f"Unknown exclusion kind: {kind!r}.")
        elif kind == "field_equals" and not item.get("field"):
            problems.append("A field exclusion needs a field.")
        elif kind == "answered" and not item.get("question"):
            problems.append("An answered exclusion needs a question.")
        elif kind == "tag" and not item.get("tag"):
            problems.append("A tag exclusion needs a tag.")
    for item in data.get("done_conditions") or []:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind not in DONE_KINDS:
            problems.append(f"Unknown done-condition kind: {kind!r}.")
        elif not item.get("question"):
            problems.append("A done-condition needs a question.")
        else:
            days = item.get("reselect_after_days")
            if days is not None and (not isinstance(days, int) or days < 1):
                problems.append("Reselect after must be a number of days (1 or more).")
    return problems


def validate_dispositions(data: Any) -> list[str]:
    """Problems with a `dispositions` JSON value (renamed labels, custom codes)."""
    if not isinstance(data, dict):
        return ["Dispositions must be a mapping."]
    problems = []
    for code in (data.get("labels") or {}):
        if code not in BUILTIN_BY_CODE:
            problems.append(f"{code}: only built-in codes can be renamed.")
    seen = set(BUILTIN_BY_CODE)
    for item in data.get("custom") or []:
        code = str(item.get("code") or "") if isinstance(item, dict) else ""
        if not code or len(code) > CODE_MAX_LENGTH:
            problems.append("A custom result needs a short code.")
        elif code in seen:
            problems.append(f"{code}: this code is already taken.")
        elif item.get("group") not in {g.value for g in DispositionGroup}:
            problems.append(f"{code}: choose a group (contacted, no_contact or remove).")
        seen.add(code)
    return problems


def known_codes(operation) -> set[str]:
    """Every disposition code the operation accepts."""
    return set(disposition_map(operation.dispositions))
