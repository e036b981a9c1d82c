"""Figures for an operation's dashboard and the organization's overview, and results export."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ringround import questionnaires
from ringround.audit import record_audit
from ringround.csv_stream import audited_csv
from ringround.models import (
    Attempt,
    Contact,
    ContactPhone,
    Operation,
    Organization,
    Target,
    TargetState,
    User,
    utcnow,
)
from ringround.models.messaging import CallLeg, LegKind
from ringround.operation_dispositions import disposition_rows
from ringround.people.crm_export import profile_rows
from ringround.queue import blocked_counts, people_reached
from ringround.spreadsheet_safety import safe_rows


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
    missed_callbacks: list[dict[str, Any]] = field(default_factory=list)

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
    return dict(blocked_counts(session, operation))


def target_counts(session: Session, operation_id: int) -> dict[str, int]:
    """How many targets the operation has in each state."""
    rows = session.execute(
        # count(*) over (operation_id, state) is answered from the queue's index alone.
        select(Target.state, func.count()).where(Target.operation_id == operation_id)
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
    reached = session.scalar(select(people_reached()).where(*where)) or 0
    return calls, reached


def agent_counts(session: Session, operation_id: int) -> list[dict[str, Any]]:
    """Calls and people reached per agent, busiest first."""
    rows = session.execute(
        select(Attempt.agent_id, func.count(Attempt.id), people_reached(),
               func.max(Attempt.created_at))
        .where(Attempt.operation_id == operation_id, Attempt.disposition.is_not(None),
               Attempt.agent_id.is_not(None))
        .group_by(Attempt.agent_id)).all()
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_([row[0] for row in rows]))).all()) if rows else {}
    result = [{"user_id": uid, "name": names.get(uid, "?"), "calls": calls, "reached": got,
               "last_call": last} for uid, calls, got, last in rows]
    result.sort(key=lambda row: (-row["calls"], row["name"]))
    return result


def answer_tallies(session: Session, operation: Operation) -> list[dict[str, Any]]:
    """Per question of the questionnaire: how often each answer was given.

    Choice and yes/no questions count each choice (by label), scales each step, text
    questions only how many answered.
    """
    questions = questionnaires.questions_of(operation.questionnaire)
    counters: dict[str, Counter] = {}
    for question in questions:
        # One grouped query per question, inside the database (JSON extraction works on
        # SQLite and PostgreSQL alike): the dashboard polls this, so no rows come to Python.
        value = Attempt.answers[question["id"]].as_string()
        rows = session.execute(
            select(value, func.count(Attempt.id))
            .where(Attempt.operation_id == operation.id, Attempt.disposition.is_not(None),
                   value.is_not(None))
            .group_by(value))
        counters[question["id"]] = Counter(
            {str(answer): n for answer, n in rows if answer not in (None, "")})
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


# Call figures scan every recorded call of the operation; the dashboard polls them every few
# seconds, so each process keeps them for a short while (targets stay live: they are cheap).
_CALL_FIGURES: dict[tuple[str, int], tuple[float, dict[str, Any]]] = {}
_CALL_FIGURES_MAX_ENTRIES = 256


def _call_figures(session: Session, operation: Operation, org: Organization | None,
                  now: datetime, max_age: float) -> dict[str, Any]:
    key = (str(session.get_bind().url), operation.id)
    cached = _CALL_FIGURES.get(key)
    if max_age > 0 and cached and time.monotonic() - cached[0] < max_age:
        return cached[1]
    calls_today, reached_today = _call_counts(session, operation.id, start_of_day(org, now))
    calls_total, reached_total = _call_counts(session, operation.id, None)
    figures = {"calls_today": calls_today, "calls_total": calls_total,
               "reached_today": reached_today, "reached_total": reached_total,
               "agents": agent_counts(session, operation.id),
               "tallies": answer_tallies(session, operation)}
    if len(_CALL_FIGURES) >= _CALL_FIGURES_MAX_ENTRIES:
        _CALL_FIGURES.pop(min(_CALL_FIGURES, key=lambda k: _CALL_FIGURES[k][0]))
    _CALL_FIGURES[key] = (time.monotonic(), figures)
    return figures


def missed_callbacks(session: Session, operation_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """People who called the campaign number back while nobody could take it, not yet dealt
    with: the owners call them back (first name and time only)."""
    rows = session.execute(
        select(CallLeg.created_at, Contact.first_name)
        .outerjoin(Contact, Contact.id == CallLeg.contact_id)
        .where(CallLeg.operation_id == operation_id, *_MISSED)
        .order_by(CallLeg.created_at.desc()).limit(limit))
    return [{"at": at, "name": name or ""} for at, name in rows]


# A call-back nobody took and nobody has dealt with yet.
_MISSED = (CallLeg.kind == LegKind.CALLBACK, CallLeg.status == "missed",
           CallLeg.handled_at.is_(None))


def missed_callbacks_of_organization(session: Session, org_id: int, limit: int = 50
                                     ) -> list[dict[str, Any]]:
    """The organization's missed call-backs, newest first, with what an organizer needs to
    call back: the contact (id and name, to open their page) or, for a caller we did not know,
    the number they left; the operation and the volunteer they were trying to reach."""
    rows = session.execute(
        select(CallLeg.id, CallLeg.created_at, CallLeg.contact_id, CallLeg.state,
               Contact.first_name, Contact.last_name, Operation.name, User.display_name)
        .outerjoin(Contact, Contact.id == CallLeg.contact_id)
        .outerjoin(Operation, Operation.id == CallLeg.operation_id)
        .outerjoin(User, User.id == CallLeg.agent_id)
        .where(CallLeg.organization_id == org_id, *_MISSED)
        .order_by(CallLeg.created_at.desc()).limit(limit))
    return [{"id": leg_id, "at": at, "contact_id": contact_id,
             "name": " ".join(part for part in (first, last) if part),
             "number": (state or {}).get("number") if not contact_id else None,
             "operation": operation, "volunteer": volunteer}
            for leg_id, at, contact_id, state, first, last, operation, volunteer in rows]


def operation_figures(
    session: Session, operation: Operation, now: datetime | None = None, max_age: float = 0
) -> OperationFigures:
    """Everything the operation's dashboard shows, as of `now`.

    With `max_age` (seconds), call figures computed that recently in this process are reused;
    without it they are computed afresh (and remembered for the next caller that allows reuse).
    """
    now = now or utcnow()
    blocked = _queue_blocked(session, operation)
    ready = None
    if blocked is None:
        by_state = target_counts(session, operation.id)
    else:
        # The queue's reasons partition the targets: states follow from them (one query).
        done = blocked.get("done", 0) + blocked.get("attempts_used_up", 0)
        by_state = {TargetState.LEASED.value: blocked.get("leased", 0),
                    TargetState.DONE.value: done,
                    TargetState.REMOVED.value: blocked.get("removed", 0)}
        by_state[TargetState.WAITING.value] = blocked.get("total", 0) - sum(by_state.values())
        ready = blocked.pop("ready", None)
        # Totals and finished targets are shown on their own.
        blocked = {reason: n for reason, n in blocked.items()
                   if n and reason not in ("total", "done", "removed")}
    org = session.get(Organization, operation.organization_id)
    return OperationFigures(
        targets=sum(by_state.values()), by_state=by_state, ready=ready, blocked=blocked or {},
        done=by_state[TargetState.DONE.value], removed=by_state[TargetState.REMOVED.value],
        missed_callbacks=missed_callbacks(session, operation.id),
        **_call_figures(session, operation, org, now, max_age),
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
        select(Target.operation_id, Target.state, func.count())
        .where(Target.operation_id.in_(ids)).group_by(Target.operation_id, Target.state)
    ) if ids else []
    targets: dict[int, tuple[int, int]] = {}
    for op_id, state, n in target_rows:
        total, finished = targets.get(op_id, (0, 0))
        targets[op_id] = (total + n, finished + (n if state in finished_states else 0))
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
    """A CSV cell as text (formulas are neutralized where rows are written: `safe_rows`)."""
    return "" if value is None else str(value)


def _recorded(operation_id: int):
    return (Attempt.operation_id == operation_id, Attempt.disposition.is_not(None))


@dataclass(frozen=True)
class ResultsExport:
    """What a results export needs, fixed as plain values before streaming starts: the ids,
    the question headers and the result codes' labels in the requester's language. Reading
    the rows then touches no ORM object of the request and no locale."""

    organization_id: int
    operation_id: int
    question_ids: tuple[str, ...]
    question_headers: tuple[str, ...]
    labels: dict[str, str]


def results_export(operation: Operation) -> ResultsExport:
    """The plain values of an export of `operation`, with labels in the current locale."""
    questions = questionnaires.questions_of(operation.questionnaire)
    return ResultsExport(
        organization_id=operation.organization_id, operation_id=operation.id,
        question_ids=tuple(q["id"] for q in questions),
        question_headers=tuple(q["id"] + ": " + q["text"] for q in questions),
        labels={row.code: str(row.label) for row in disposition_rows(operation)})


def audit_results_export(session: Session, export: ResultsExport, actor_id: int | None,
                         rows: int, profile: str | None = None) -> None:
    """Record that `rows` calls (or, in a profile, contacts) of the operation were sent
    (once, after the last of them)."""
    record_audit(session, export.organization_id, actor_id, "operation.results_exported",
                 "operation", export.operation_id,
                 {"rows": rows, **({"profile": profile} if profile else {})})


def results_rows(session: Session, export: ResultsExport) -> Iterator[list]:
    """The header, then every recorded call of the operation, oldest first (one column per
    question; the number in E.164 and its extension apart), read 2,000 at a time. Not
    audited: see `audit_results_export`."""
    yield ["call_id", "recorded_at", "agent", "contact_id", "first_name", "last_name",
           "phone", "extension", "disposition", "group", *export.question_headers, "notes"]
    first_phone = (select(ContactPhone.e164, ContactPhone.extension)
                   .where(ContactPhone.contact_id == Contact.id)
                   .order_by(ContactPhone.position).limit(1))
    rows = session.execute(
        select(Attempt.id, func.coalesce(Attempt.recorded_at, Attempt.created_at),
               User.display_name, Attempt.contact_id, Contact.first_name, Contact.last_name,
               first_phone.with_only_columns(ContactPhone.e164).scalar_subquery(),
               first_phone.with_only_columns(ContactPhone.extension).scalar_subquery(),
               Attempt.disposition, Attempt.disposition_group, Attempt.answers,
               Attempt.notes)
        .outerjoin(User, User.id == Attempt.agent_id)
        .outerjoin(Contact, Contact.id == Attempt.contact_id)
        .where(*_recorded(export.operation_id))
        .order_by(Attempt.created_at, Attempt.id)
        .execution_options(yield_per=2000)
    )
    labels, ids = export.labels, export.question_ids
    try:
        for call_id, when, agent, contact_id, first, last, phone, extension, code, group, \
                answers, notes in rows:
            answers = answers or {}
            yield [call_id, when.isoformat() if when else "", _cell(agent), contact_id,
                   _cell(first), _cell(last), phone or "", extension or "",
                   _cell(labels.get(code, code)), group.value if group else "",
                   *[_cell(answers.get(qid)) for qid in ids], _cell(notes)]
    finally:
        rows.close()  # a half-read cursor must not outlive a failed or abandoned export


def results_stream(engine: Engine, operation: Operation, actor_id: int | None,
                   profile: str | None = None, results: str = "tags") -> Iterator[bytes]:
    """The export of `operation` as CSV pieces for a download, audited once sent whole:
    every call, or (with an export `profile` of `crm_export`) the contacts called, with
    their results as tags or survey responses, in another tool's columns.

    Labels are resolved now, in the requester's language; the pieces are read later through
    a session of the stream's own (`csv_stream.audited_csv`), after the request has ended.
    """
    export = results_export(operation)
    if profile:
        return audited_csv(
            engine, lambda session: profile_rows(
                session, export.organization_id, profile, results,
                operation_id=export.operation_id),
            lambda session, rows: audit_results_export(session, export, actor_id, rows,
                                                       profile))
    return audited_csv(
        engine, lambda session: results_rows(session, export),
        lambda session, rows: audit_results_export(session, export, actor_id, rows), bom=True)


def results_csv(session: Session, operation: Operation, actor: User) -> str:
    """Every recorded call of the operation as one CSV string. Audited."""
    export = results_export(operation)
    buffer = io.StringIO()
    rows = list(results_rows(session, export))
    csv.writer(buffer).writerows(safe_rows(rows))
    audit_results_export(session, export, actor.id, len(rows) - 1)
    return buffer.getvalue()
