"""Figures for an operation's dashboard and the organization's overview, and results export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ringround import questionnaires
from ringround.audit import record_audit
from ringround.models import (
    Attempt,
    Contact,
    ContactPhone,
    DispositionGroup,
    Operation,
    Organization,
    Target,
    TargetState,
    User,
    utcnow,
)
from ringround.operation_dispositions import label_of


@dataclass
class OperationFigures:
    """What an operation's dashboard shows."""

    targets: int
    by_state: dict[str, int]
    ready: int | None  # None: the queue cannot tell yet
    blocked: dict[str, int]
    done: int
    removed: int
    calls_today: int
    calls_total: int
    reached_today: int
    reached_total: int
    agents: list[dict[str, Any]] = field(default_factory=list)
    tallies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def progress(self) -> int:
        """Share of targets finished (done or removed), in percent."""
        return round(100 * (self.done + self.removed) / self.targets) if self.targets else 0


def start_of_day(org: Organization | None, now: datetime) -> datetime:
    """Midnight today in the organization's time zone, as a UTC-aware datetime."""
    try:
        zone = ZoneInfo(org.time_zone if org and org.time_zone else "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def _queue_blocked(session: Session, operation: Operation) -> dict[str, int] | None:
    try:
        from ringround.queue import blocked_counts
    except ImportError:  # the queue is built separately
        return None
    return dict(blocked_counts(session, operation))


def target_counts(session: Session, operation_id: int) -> dict[str, int]:
    """How many targets the operation has in each state."""
    rows = session.execute(
        select(Target.state, func.count(Target.id)).where(Target.operation_id == operation_id)
        .group_by(Target.state)
    )
    counts = {state.value: 0 for state in TargetState}
    counts.update({state.value: n for state, n in rows})
    return counts


def _call_counts(session: Session, operation_id: int, since: datetime | None) -> tuple[int, int]:
    where = [Attempt.operation_id == operation_id, Attempt.disposition.is_not(None)]
    if since is not None:
        where.append(Attempt.created_at >= since)
    calls = session.scalar(select(func.count(Attempt.id)).where(*where)) or 0
    reached = session.scalar(select(func.count(distinct(Attempt.contact_id))).where(
        *where, Attempt.disposition_group == DispositionGroup.CONTACTED)) or 0
    return calls, reached


def agent_counts(session: Session, operation_id: int) -> list[dict[str, Any]]:
    """Calls and people reached per agent, busiest first."""
    reached = func.count(distinct(case(
        (Attempt.disposition_group == DispositionGroup.CONTACTED, Attempt.contact_id))))
    rows = session.execute(
        select(User.id, User.display_name, func.count(Attempt.id), reached,
               func.max(Attempt.created_at))
        .join(User, User.id == Attempt.agent_id)
        .where(Attempt.operation_id == operation_id, Attempt.disposition.is_not(None))
        .group_by(User.id, User.display_name)
        .order_by(func.count(Attempt.id).desc(), User.display_name)
    )
    return [{"user_id": uid, "name": name, "calls": calls, "reached": got, "last_call": last}
            for uid, name, calls, got, last in rows]


def answer_tallies(session: Session, operation: Operation) -> list[dict[str, Any]]:
    """Per question of the questionnaire: how often each answer was given.

    Choice and yes/no questions count each choice (by label), scales each step, text
    questions only how many answered.
    """
    questions = questionnaires.questions_of(operation.questionnaire)
    counters: dict[str, Counter] = {q["id"]: Counter() for q in questions}
    answers = session.scalars(
        select(Attempt.answers).where(Attempt.operation_id == operation.id,
                                      Attempt.disposition.is_not(None))
        .execution_options(yield_per=1000)
    )
    for given in answers:
        for qid, value in (given or {}).items():
            if qid in counters and value not in (None, ""):
                counters[qid][str(value)] += 1
    tallies = []
    for question in questions:
        counter = counters[question["id"]]
        if question["type"] in ("choice", "yes_no"):
            items = [(c["label"], counter.get(c["value"], 0)) for c in question["choices"]]
        elif question["type"] == "scale":
            items = [(str(n), counter.get(str(n), 0))
                     for n in range(question["min"], question["max"] + 1)]
        else:
            items = []
        tallies.append({"id": question["id"], "text": question["text"],
                        "type": question["type"], "items": items,
                        "answered": sum(counter.values())})
    return tallies


def operation_figures(
    session: Session, operation: Operation, now: datetime | None = None
) -> OperationFigures:
    """Everything the operation's dashboard shows, as of `now`."""
    now = now or utcnow()
    by_state = target_counts(session, operation.id)
    blocked = _queue_blocked(session, operation)
    ready = None
    if blocked is not None:
        ready = blocked.pop("ready", None)
        blocked = {reason: n for reason, n in blocked.items() if n}
    org = session.get(Organization, operation.organization_id)
    calls_today, reached_today = _call_counts(session, operation.id, start_of_day(org, now))
    calls_total, reached_total = _call_counts(session, operation.id, None)
    return OperationFigures(
        targets=sum(by_state.values()), by_state=by_state, ready=ready, blocked=blocked or {},
        done=by_state[TargetState.DONE.value], removed=by_state[TargetState.REMOVED.value],
        calls_today=calls_today, calls_total=calls_total, reached_today=reached_today,
        reached_total=reached_total, agents=agent_counts(session, operation.id),
        tallies=answer_tallies(session, operation),
    )


def organization_progress(
    session: Session, org_id: int, operation_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """The organization's operations (newest first) with targets, finished share and calls."""
    query = select(Operation).where(Operation.organization_id == org_id)
    if operation_ids is not None:
        query = select(Operation).where(Operation.id.in_(operation_ids))
    operations = list(session.scalars(query.order_by(Operation.created_at.desc())))
    ids = [op.id for op in operations]
    finished_states = (TargetState.DONE, TargetState.REMOVED)
    target_rows = session.execute(
        select(Target.operation_id, func.count(Target.id),
               func.count(case((Target.state.in_(finished_states), Target.id))))
        .where(Target.operation_id.in_(ids)).group_by(Target.operation_id)
    ) if ids else []
    targets = {op_id: (total, finished) for op_id, total, finished in target_rows}
    call_rows = session.execute(
        select(Attempt.operation_id, func.count(Attempt.id))
        .where(Attempt.operation_id.in_(ids), Attempt.disposition.is_not(None))
        .group_by(Attempt.operation_id)
    ) if ids else []
    calls = {op_id: n for op_id, n in call_rows}
    rows = []
    for op in operations:
        total, finished = targets.get(op.id, (0, 0))
        rows.append({"operation": op, "targets": total, "finished": finished,
                     "progress": round(100 * finished / total) if total else 0,
                     "calls": calls.get(op.id, 0)})
    return rows


# --- export --------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def results_csv(session: Session, operation: Operation, actor: User) -> str:
    """Every recorded call of the operation as CSV (one column per question). Audited."""
    questions = questionnaires.questions_of(operation.questionnaire)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["call_id", "recorded_at", "agent", "contact_id", "first_name", "last_name",
                     "phone", "disposition", "group", *[q["id"] + ": " + q["text"]
                                                         for q in questions], "notes"])
    first_phone = (select(ContactPhone.e164).where(ContactPhone.contact_id == Contact.id)
                   .order_by(ContactPhone.position).limit(1).scalar_subquery())
    rows = session.execute(
        select(Attempt, User.display_name, Contact.first_name, Contact.last_name, first_phone)
        .outerjoin(User, User.id == Attempt.agent_id)
        .outerjoin(Contact, Contact.id == Attempt.contact_id)
        .where(Attempt.operation_id == operation.id, Attempt.disposition.is_not(None))
        .order_by(Attempt.created_at, Attempt.id)
        .execution_options(yield_per=1000)
    )
    labels = {}
    count = 0
    for attempt, agent, first, last, phone in rows:
        code = attempt.disposition
        if code not in labels:
            labels[code] = label_of(operation, code)
        answers = attempt.answers or {}
        when = attempt.recorded_at or attempt.created_at
        writer.writerow([_cell(v) for v in (
            attempt.id, when.isoformat() if when else "", agent, attempt.contact_id, first, last,
            phone, labels[code],
            attempt.disposition_group.value if attempt.disposition_group else "",
            *[answers.get(q["id"]) for q in questions], attempt.notes)])
        count += 1
    record_audit(session, operation.organization_id, actor.id, "operation.results_exported",
                 "operation", operation.id, {"rows": count})
    return buffer.getvalue()

