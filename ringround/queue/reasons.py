"""Why targets are not callable right now, when they will be, and what agents did today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
from ringround.queue.leasing import WAITING_SQL, _now, operation_running
from ringround.queue.windows import inside_window, next_opening, zone

# Every reason `blocked_counts` reports (all present, zero when none).
REASONS = (
    "ready", "leased", "cooldown", "call_back_later", "called_recently", "skipped",
    "outside_hours", "no_number", "opted_out", "done", "removed", "attempts_used_up",
)
# What the dashboard calls each reason, in the organizer's language.
REASON_LABELS = {
    "ready": _l("Ready to call"), "leased": _l("Being called"), "cooldown": _l("Cooling down"),
    "call_back_later": _l("Call back later"),
    "called_recently": _l("Called recently in another operation"),
    "skipped": _l("Skipped by a caller, back soon"), "outside_hours": _l("Outside calling hours"),
    "no_number": _l("No number"), "opted_out": _l("Opted out"), "done": _l("Done"),
    "removed": _l("Removed"), "attempts_used_up": _l("Attempts used up"),
}
# Hold reasons stored on waiting targets, as reported; anything else counts as cooldown.
HOLD_REASONS = frozenset({"call_back_later", "called_recently", "skipped", "no_number",
                          "opted_out"})


def reason_label(reason: str) -> str:
    """A reason as the dashboard names it (a reason it does not know: said as such, never
    as its code)."""
    label = REASON_LABELS.get(reason)
    return str(label) if label is not None else _("Not callable for another reason")


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
    later = func.sum(case((t.c.next_eligible_at > now, 1), else_=0))
    # Grouped in the order of ix_targets_queue: one streaming pass over the index.
    rows = session.execute(
        select(t.c.state, t.c.reason, t.c.time_zone, func.count(), later)
        .where(t.c.operation_id == operation.id)
        .group_by(t.c.state, t.c.reason, t.c.time_zone)).all()
    counts = dict.fromkeys(REASONS, 0)
    inside: dict[str, bool] = {}
    for state, reason, tz, n, n_later in rows:
        n_later = int(n_later or 0)
        if state == TargetState.LEASED:
            counts["leased"] += n
        elif state == TargetState.DONE:
            counts["attempts_used_up" if reason == "attempts_used_up" else "done"] += n
        elif state == TargetState.REMOVED:
            counts["removed"] += n
        else:
            counts[reason if reason in HOLD_REASONS else "cooldown"] += n_later
            if tz not in inside:
                inside[tz] = inside_window(tz, now, rules)
            counts["ready" if inside[tz] else "outside_hours"] += n - n_later
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
    zones = operation.time_zones or [z for (z,) in session.execute(
        select(t.c.time_zone).where(t.c.operation_id == operation.id).distinct())]
    best = None
    for tz in zones:
        opening = next_opening(tz, start, rules)
        if opening is None:
            continue
        # Usually someone there is eligible by the time the window opens: one index probe.
        if _someone_eligible(session, operation.id, tz, opening):
            moment = opening
        else:
            earliest = session.scalar(select(func.min(t.c.next_eligible_at)).where(
                t.c.operation_id == operation.id, WAITING_SQL, t.c.time_zone == tz))
            if earliest is None:
                continue
            moment = next_opening(tz, max(start, earliest), rules)
        if moment is None or (operation.ends_at is not None and moment >= operation.ends_at):
            continue
        if best is None or moment < best[0]:
            best = (moment, tz)
    return best


def _someone_eligible(session: Session, operation_id: int, tz: str, when: datetime) -> bool:
    t = Target.__table__
    return session.execute(select(t.c.id).where(
        t.c.operation_id == operation_id, WAITING_SQL, t.c.time_zone == tz,
        t.c.next_eligible_at <= when).limit(1)).first() is not None


@dataclass(frozen=True)
class AgentStats:
    """An agent's day in one operation, for the caller app."""

    calls: int
    people_reached: int  # distinct people with a `contacted` result


def people_reached(attempts=Attempt.__table__):
    """How many people had a `contacted` result among the selected attempts: one a target,
    which erasure keeps (an erased person's results keep no contact, but stay counted)."""
    return func.count(distinct(case(
        (attempts.c.disposition_group == DispositionGroup.CONTACTED.value,
         attempts.c.target_id))))


def stats_for_agent(session: Session, operation_id: int, agent_id: int, day: date,
                    time_zone: str = "UTC") -> AgentStats:
    """Calls and people reached by an agent on `day` (a calendar day in `time_zone`)."""
    tz = zone(time_zone) or zone("UTC")
    start = datetime.combine(day, time(0)).replace(tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0)).replace(tzinfo=tz)
    a = Attempt.__table__
    row = session.execute(select(func.count(a.c.id), people_reached(a)).where(
        a.c.operation_id == operation_id, a.c.agent_id == agent_id,
        a.c.recorded_at.is_not(None), a.c.created_at >= start, a.c.created_at < end)).one()
    return AgentStats(calls=row[0] or 0, people_reached=row[1] or 0)

