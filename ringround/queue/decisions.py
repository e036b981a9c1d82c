"""How a result decides its target's next state: retries, cooldown, the cap, done-conditions,
answered exclusions, and a late result that never reopens a finished target.

Pure: `decide_all` works on a copy of the target and writes nothing; `decide` is the rule
itself, tested by behaviour (tests/core/queue/test_results.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ringround.models import DispositionGroup, TargetState
from ringround.operation_rules import OperationRules
from ringround.queue._sql import rules_of
from ringround.queue.checks import answer_matches
from ringround.queue.result_types import AttemptData, RecordOutcome, TargetRow, snapshot


@dataclass
class Decision:
    """What a result will do to its target and to the attempt, decided before anything is
    written."""

    target: TargetRow  # the target as it will be saved
    before: dict[str, Any]
    outcome: RecordOutcome
    excluded: bool  # removed by an exclusion just now (household-wide ones spread)
    when: datetime
    code: str

    @property
    def attempt_values(self) -> dict[str, Any]:
        return {"disposition": self.code, "disposition_group": self.outcome.group,
                "recorded_at": self.outcome_time,
                "outcome": {"result": self.outcome.to_json(), "before": self.before}}

    outcome_time: datetime | None = None


def _call_time(data: AttemptData, now: datetime) -> datetime:
    """When the call happened (offline results arrive later), never in the future."""
    when = data.ended_at or data.started_at or now
    return min(when, now)


def decide_all(operation, target: TargetRow, data: AttemptData, code: str,
               now: datetime) -> Decision:
    """Decide, on a copy of the target, what this result does. Nothing is written."""
    rules, codes = rules_of(operation)
    group = codes[code].group
    before = snapshot(target)
    new = TargetRow(**{**target.__dict__})
    new.retry_counts = dict(target.retry_counts or {})
    late = not (target.state == TargetState.LEASED and target.leased_to_id == data.agent_id
                and target.lease_expires_at is not None and target.lease_expires_at > now)
    when = _call_time(data, now)
    new.attempts += 1
    new.last_attempt_at = max(target.last_attempt_at or when, when)
    state, reason, next_at, reselect = decide(new, rules, code, group, data, when)
    final_before = target.state in (TargetState.DONE, TargetState.REMOVED)
    held_by_other = (target.state == TargetState.LEASED and target.leased_to_id != data.agent_id
                     and target.lease_expires_at is not None and target.lease_expires_at > now)
    if final_before:
        pass  # a late result never brings a finished target back
    elif state == TargetState.WAITING and held_by_other:
        # Someone else is on this person now: leave their lease, but move the next call.
        new.next_eligible_at = max(new.next_eligible_at, next_at)
        new.reason = reason
    else:
        new.state, new.reason, new.reselect_at = state, reason, reselect
        if next_at is not None:
            new.next_eligible_at = next_at
        new.leased_to_id = new.leased_at = new.lease_expires_at = None
    outcome = RecordOutcome(
        attempt_id=0, target_id=target.id, disposition=code, group=group.value,
        target_state=new.state.value, reason=new.reason,
        next_eligible_at=new.next_eligible_at
        if new.state in (TargetState.WAITING, TargetState.LEASED) else None, late=late,
    )
    excluded = not final_before and new.state == TargetState.REMOVED and new.reason != code
    return Decision(new, before, outcome, excluded, when, code, outcome_time=now)


def decide(target: TargetRow, rules: OperationRules, code: str, group: DispositionGroup,
           data: AttemptData, when: datetime):
    """The target's next (state, reason, next eligible time, reselect time)."""
    answers = data.answers or {}
    if group == DispositionGroup.REMOVE:
        return TargetState.REMOVED, code, None, None
    for rule in rules.exclusions.rules:
        if rule.kind == "answered" and answer_matches(answers, rule.question, rule.answer):
            return TargetState.REMOVED, rule.label, None, None
    for cond in rules.exclusions.done_conditions:
        if answer_matches(answers, cond.question, cond.answer):
            reselect = (when + timedelta(days=cond.reselect_after_days)
                        if cond.reselect_after_days else None)
            return TargetState.DONE, cond.label, None, reselect
    retry = rules.retry_for(code, group)
    used = target.retry_counts
    if retry is None or used.get(code, 0) >= retry.retries:
        if group == DispositionGroup.CONTACTED:
            return TargetState.DONE, code, None, None
        return TargetState.DONE, "attempts_used_up", None, None
    cap = rules.max_calls_per_person
    if cap is not None and target.attempts >= cap:
        return TargetState.DONE, "attempts_used_up", None, None
    used[code] = used.get(code, 0) + 1
    next_at = when + timedelta(minutes=retry.interval_minutes)
    reason = "cooldown"
    if data.callback_at is not None and data.callback_at > when:
        next_at, reason = data.callback_at, "call_back_later"
    elif code == "call_back":
        reason = "call_back_later"
    cooldown = when + timedelta(minutes=rules.cooldown_minutes)
    if cooldown > next_at:
        next_at, reason = cooldown, "cooldown"
    return TargetState.WAITING, reason, next_at, None
