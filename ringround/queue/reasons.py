"""Why targets are not callable right now, when they will be, and what agents did today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ringround.models import (
    Attempt,
    DispositionGroup,
    Operation,
    OperationState,
    Target,
    TargetState,
)
from ringround.operation_rules import rules_for
from ringround.queue.leasing import _now, operation_running
from ringround.queue.windows import inside_window, next_opening, zone

# Every reason `blocked_counts` reports (all present, zero when none).
REASONS = (
    "ready", "leased", "cooldown", "call_back_later", "called_recently", "skipped",
    "outside_hours", "no_number", "opted_out", "done", "removed", "attempts_used_up",
)
# Hold reasons stored on waiting targets, as reported; anything else counts as cooldown.
HOLD_REASONS = frozenset({"call_back_later", "called_recently", "skipped", "no_number",
                          "opted_out"})


def blocked_counts(session: Session, operation: Operation, now: datetime | None = None
                   ) -> dict[str, int]:
    """Targets of an operation by why they are (not) callable now.

    `ready`: waiting, eligible and inside the window in their time zone (whether or not the
    operation itself is running: the dashboard shows its state beside). `outside_hours`:
    eligible but outside the window there. Waiting targets whose next eligible time is later
    count under their hold reason (`cooldown` between calls and retries, `call_back_later`,
    `called_recently` by another operation, `skipped`, `no_number`, `opted_out`). Finished
    ones count as `done`, `removed` or `attempts_used_up`. Also `total`.
    """
    now = _now(now)
    rules = rules_for(operation)
    t = Target.__table__
    later = case((t.c.next_eligible_at > now, 1), else_=0)
    rows = session.execute(
        select(t.c.state, t.c.reason, later.label("later"), t.c.time_zone, func.count())
        .where(t.c.operation_id == operation.id)
        .group_by(t.c.state, t.c.reason, later, t.c.time_zone)).all()
    counts = dict.fromkeys(REASONS, 0)
    inside: dict[str, bool] = {}
    for state, reason, is_later, tz, n in rows:
        if state == TargetState.LEASED:
            key = "leased"
        elif state == TargetState.DONE:
            key = "attempts_used_up" if reason == "attempts_used_up" else "done"
        elif state == TargetState.REMOVED:
            key = "removed"
        elif is_later:
            key = reason if reason in HOLD_REASONS else "cooldown"
        else:
            if tz not in inside:
                inside[tz] = inside_window(tz, now, rules)
            key = "ready" if inside[tz] else "outside_hours"
        counts[key] += n
    counts["total"] = sum(counts[k] for k in REASONS)
    return counts


def next_callable_at(session: Session, operation: Operation, now: datetime | None = None
                     ) -> datetime | None:
    """The first moment someone in this operation can be called (now, if someone can), in
    UTC; None when nobody is left or the operation is not active. Pair it with the zone from
    `next_callable_zone` to say "next people can be called from 17:00 their time"."""
    found = _next_callable(session, operation, _now(now))
    return found[0] if found else None


def next_callable_zone(session: Session, operation: Operation, now: datetime | None = None
                       ) -> tuple[datetime, str] | None:
    """`next_callable_at` with the time zone of the people then callable."""
    return _next_callable(session, operation, _now(now))


def _next_callable(session: Session, operation: Operation, now: datetime):
    if operation.state != OperationState.ACTIVE or (
            operation.ends_at is not None and now >= operation.ends_at):
        return None
    start = now
    if not operation_running(operation, now) and operation.starts_at is not None:
        start = max(now, operation.starts_at)
    rules = rules_for(operation)
    t = Target.__table__
    rows = session.execute(
        select(t.c.time_zone, func.min(t.c.next_eligible_at))
        .where(t.c.operation_id == operation.id, t.c.state == TargetState.WAITING)
        .group_by(t.c.time_zone)).all()
    best = None
    for tz, earliest in rows:
        moment = max(start, earliest)
        opening = next_opening(tz, moment, rules)
        if opening is None:
            continue
        if operation.ends_at is not None and opening >= operation.ends_at:
            continue
        if best is None or opening < best[0]:
            best = (opening, tz)
    return best


@dataclass(frozen=True)
class AgentStats:
    """An agent's day in one operation, for the caller app."""

    calls: int
    people_reached: int  # distinct people with a `contacted` result


def stats_for_agent(session: Session, operation_id: int, agent_id: int, day: date,
                    time_zone: str = "UTC") -> AgentStats:
    """Calls and people reached by an agent on `day` (a calendar day in `time_zone`)."""
    tz = zone(time_zone) or zone("UTC")
    start = datetime.combine(day, time(0)).replace(tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0)).replace(tzinfo=tz)
    a = Attempt.__table__
    reached = func.count(distinct(case(
        (a.c.disposition_group == DispositionGroup.CONTACTED.value, a.c.contact_id))))
    row = session.execute(select(func.count(a.c.id), reached).where(
        a.c.operation_id == operation_id, a.c.agent_id == agent_id,
        a.c.recorded_at.is_not(None), a.c.created_at >= start, a.c.created_at < end)).one()
    return AgentStats(calls=row[0] or 0, people_reached=row[1] or 0)

