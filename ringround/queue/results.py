"""Applying a call's result: retries, cooldown, cap, done-conditions, exclusions, marks.

A result carries a client-made id: a resend with the same id changes nothing and returns the
first outcome. A result may arrive after its lease expired, or after the target was leased to
someone else (offline batches): it is kept and counted once, and never takes a target out of
`done` or `removed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ringround.dispositions import (
    NUMBER_MARKS,
    OPT_OUT_CODES,
    PROVIDER_STATUS_CODES,
)
from ringround.models import (
    Attempt,
    CallMethod,
    Contact,
    ContactPhone,
    CustomField,
    DispositionGroup,
    Operation,
    PhoneStatus,
    Target,
    TargetState,
)
from ringround.operation_rules import OperationRules
from ringround.optouts import opt_out
from ringround.queue._sql import (
    RULE_COLUMNS,
    OperationView,
    operation_columns,
    operation_join,
    operation_row,
    prebuilt,
    rules_of,
    sibling_count,
)
from ringround.queue._tx import begin_write, is_postgresql
from ringround.queue.checks import BUILTIN_FIELDS, answer_matches, usable_phone
from ringround.queue.exclusions import contacts_changed
from ringround.queue.leasing import QueueError, _now
from ringround.queue.statements import runnable

EDIT_WINDOW = timedelta(minutes=10)


class UnknownTargetError(QueueError):
    """The result names no target of its operation."""


class ResultRefusedError(QueueError):
    """`record_result`'s `admit` refused the result; the message says why."""
# Caller edits never touch these, whatever the operation's field settings say.
NEVER_EDITABLE = frozenset({"date_of_birth", "time_zone", "source", "country"})


@dataclass
class ResultIn:
    """A call's result as the caller app (or the telephony webhook) sends it."""

    client_id: str
    operation_id: int
    target_id: int
    agent_id: int | None
    disposition: str
    answers: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    field_updates: dict[str, Any] = field(default_factory=dict)
    method: CallMethod | str = CallMethod.OWN_PHONE
    started_at: datetime | None = None
    ended_at: datetime | None = None
    callback_at: datetime | None = None
    provider_sid: str | None = None
    provider_status: str | None = None
    phone_id: int | None = None  # the number dialed (default: the contact's first usable one)


@dataclass(frozen=True)
class RecordOutcome:
    """What a result did to its target."""

    attempt_id: int
    target_id: int | None
    disposition: str
    group: str
    target_state: str  # waiting, leased, done, removed
    reason: str | None  # why: cooldown, call_back_later, attempts_used_up, a label, a code
    next_eligible_at: datetime | None
    late: bool = False  # arrived after the lease expired or passed to another agent
    duplicate: bool = False  # this client_id had been recorded before: nothing changed

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.next_eligible_at is not None:
            data["next_eligible_at"] = self.next_eligible_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], **changes) -> RecordOutcome:
        data = dict(data)
        if data.get("next_eligible_at"):
            data["next_eligible_at"] = datetime.fromisoformat(data["next_eligible_at"])
        data.update(changes)
        return cls(**data)


_SNAPSHOT = ("state", "reason", "attempts", "next_eligible_at", "last_attempt_at",
             "leased_to_id", "leased_at", "lease_expires_at", "retry_counts", "reselect_at")
_DATETIMES = frozenset({"next_eligible_at", "last_attempt_at", "leased_at", "lease_expires_at",
                        "reselect_at"})


@dataclass
class _TargetRow:
    """A mutable copy of a target's queue columns: rules are decided on it, then saved."""

    id: int
    operation_id: int
    contact_id: int | None
    state: TargetState
    reason: str | None
    attempts: int
    next_eligible_at: datetime
    last_attempt_at: datetime | None
    leased_to_id: int | None
    leased_at: datetime | None
    lease_expires_at: datetime | None
    retry_counts: dict[str, int] | None
    reselect_at: datetime | None
    siblings: int = 0


@dataclass
class _AttemptData:
    """The fields of an attempt the rules read (a new result, or a stored attempt)."""

    agent_id: int | None
    answers: dict[str, Any]
    callback_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    phone_id: int | None
    field_updates: dict[str, Any]
    id: int | None = None
    disposition: str | None = None


def _snapshot(target) -> dict[str, Any]:
    data = {}
    for name in _SNAPSHOT:
        value = getattr(target, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, TargetState):
            value = value.value
        data[name] = value
    return data


def _restore(target, data: dict[str, Any]) -> None:
    for name in _SNAPSHOT:
        value = data.get(name)
        if name in _DATETIMES and value:
            value = datetime.fromisoformat(value)
        if name == "state":
            value = TargetState(value)
        setattr(target, name, value)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime in a result")
    return value.astimezone(UTC)


_TARGET_FIELDS = ("id", "operation_id", "contact_id", *_SNAPSHOT)


def _target_statement(lock: bool):
    t = Target.__table__
    stmt = select(*[t.c[name] for name in _TARGET_FIELDS],
                  sibling_count(t).label("siblings")).where(t.c.id == bindparam("target_id"))
    return stmt.with_for_update(of=t) if lock else stmt


def _result_statement(lock: bool):
    """One round trip for a result: the target (locked on PostgreSQL), its operation with the
    organization's gap, and the attempt already recorded under this client id, if any (with
    who sent it, for which target)."""
    t = Target.__table__
    a = Attempt.__table__
    stmt = select(
        *[t.c[name] for name in _TARGET_FIELDS], sibling_count(t).label("siblings"),
        *operation_columns("op_", rules_as_text=True), a.c.id.label("known_attempt_id"),
        a.c.agent_id.label("known_agent_id"), a.c.target_id.label("known_target_id"),
    ).select_from(operation_join(t.join(Operation.__table__,
                                        Operation.__table__.c.id == t.c.operation_id))
                  .outerjoin(a, a.c.client_id == bindparam("client_id")))
    stmt = stmt.where(t.c.id == bindparam("target_id"))
    return stmt.with_for_update(of=t) if lock else stmt


def _load_target(session: Session, target_id: int) -> _TargetRow | None:
    """The target's queue columns, locked on PostgreSQL until commit."""
    lock = is_postgresql(session)
    row = session.execute(prebuilt(("target", lock), lambda: _target_statement(lock)),
                          {"target_id": target_id}).first()
    return _TargetRow(**row._mapping) if row else None


def _save_statement():
    t = Target.__table__
    return update(t).where(t.c.id == bindparam("target_id")).values(
        {name: bindparam(f"new_{name}", type_=t.c[name].type) for name in _SNAPSHOT})


def _save_target(session: Session, target: _TargetRow,
                 connection: Connection | None = None) -> None:
    params = {f"new_{name}": getattr(target, name) for name in _SNAPSHOT}
    params["target_id"] = target.id
    runnable("save_target", _save_statement).run(
        connection or session.connection(), params)


def _load_operation(session: Session, operation_id: int):
    return operation_row(session, operation_id)


def _find_attempt(session: Session, client_id: str) -> Attempt | None:
    return session.scalars(select(Attempt).where(Attempt.client_id == client_id)
                           .execution_options(populate_existing=True)).first()


def _data_of(attempt: Attempt) -> _AttemptData:
    return _AttemptData(attempt.agent_id, dict(attempt.answers or {}), attempt.callback_at,
                        attempt.started_at, attempt.ended_at, attempt.phone_id,
                        dict(attempt.field_updates or {}), attempt.id, attempt.disposition)


_INSERT_COLUMNS = (
    "client_id", "operation_id", "target_id", "contact_id", "agent_id", "method", "started_at",
    "ended_at", "provider_sid", "provider_status", "answers", "notes", "field_updates",
    "callback_at", "phone_id", "created_at", "disposition", "disposition_group", "recorded_at",
    "outcome",
)


def _insert_statement():
    """INSERT ... SELECT ... WHERE NOT EXISTS (same client id) RETURNING id.

    The NOT EXISTS runs with a fresh snapshot: a resend that waited on the target's lock
    sees the attempt its twin just committed, and inserts nothing. Parameters `a_<column>`
    (SQLAlchemy reserves a column's own name for the SET or VALUES it adds)."""
    a = Attempt.__table__
    values = select(*[bindparam(f"a_{name}", type_=a.c[name].type)
                      for name in _INSERT_COLUMNS]).where(
        ~exists().where(a.c.client_id == bindparam("client_id_again", type_=a.c.client_id.type)))
    return insert(a).from_select(list(_INSERT_COLUMNS), values).returning(a.c.id)


def _insert_params(values: dict[str, Any]) -> dict[str, Any]:
    params = {f"a_{name}": value for name, value in values.items()}
    params["client_id_again"] = values["client_id"]
    return params


def _insert_attempt(connection: Connection, values: dict[str, Any]) -> int | None:
    """The new attempt's id, or None if one with this client id exists already."""
    # Columns missing from `values` are NULL (the statement's default for each parameter).
    row = runnable("insert_attempt", _insert_statement).first(connection, _insert_params(values))
    return row[0] if row else None


def _insert_and_save_statement():
    """PostgreSQL: the attempt's INSERT (as above) and the target's UPDATE in one statement,
    one round trip; the UPDATE happens only if the INSERT did."""
    t = Target.__table__
    new = _insert_statement().cte("new_attempt")
    return update(t).where(t.c.id == bindparam("target_id"), new.c.id.is_not(None)).values(
        {name: bindparam(f"new_{name}", type_=t.c[name].type) for name in _SNAPSHOT},
    ).returning(new.c.id)


def _insert_and_save(connection: Connection, values: dict[str, Any], target: _TargetRow
                     ) -> int | None:
    """Insert the attempt and save the decided target; None (and nothing saved) if an
    attempt with this client id exists already."""
    params = _insert_params(values)
    params["target_id"] = target.id
    params.update({f"new_{name}": getattr(target, name) for name in _SNAPSHOT})
    row = runnable("insert_and_save", _insert_and_save_statement).first(connection, params)
    return row[0] if row else None


def _stored_outcome(attempt: Attempt, **changes) -> RecordOutcome:
    return RecordOutcome.from_json(attempt.outcome["result"], attempt_id=attempt.id, **changes)


def record_result(session: Session, result: ResultIn, now: datetime | None = None,
                  admit: Callable[[Any, int | None], str | None] | None = None
                  ) -> RecordOutcome:
    """Record a call's result and apply the operation's rules to its target.

    Idempotent by `result.client_id`: a resend returns the first outcome with
    `duplicate=True` and changes nothing. Raises QueueError for an unknown target, operation
    or disposition (UnknownTargetError: no such target in the operation). The caller commits
    (promptly: the write lock is held until then).

    `admit(target, sender)`, if given, is asked first, with the target as read (locked) here
    and the agent who sent the attempt already under this client id for this target (None
    if none): a message it returns refuses the result (ResultRefusedError), nothing stored.
    """
    now = _now(now)
    connection = begin_write(session)
    lock = connection.dialect.name == "postgresql"
    statement = runnable(("result", lock), lambda: _result_statement(lock),
                         frozenset(f"op_{c}" for c in RULE_COLUMNS))
    row = statement.first(connection, {"target_id": result.target_id,
                                       "client_id": result.client_id})
    if row is None or row.operation_id != result.operation_id:
        raise UnknownTargetError("unknown target")
    operation = OperationView(row, "op_")
    if result.disposition not in rules_of(operation)[1]:
        raise QueueError(f"unknown disposition {result.disposition!r}")
    target = _TargetRow(**{name: getattr(row, name) for name in (*_TARGET_FIELDS, "siblings")})
    if admit is not None:
        sender = row.known_agent_id if row.known_target_id == target.id else None
        refusal = admit(target, sender)
        if refusal is not None:
            raise ResultRefusedError(refusal)
    data = _AttemptData(result.agent_id, dict(result.answers or {}), _aware(result.callback_at),
                        _aware(result.started_at), _aware(result.ended_at), result.phone_id,
                        dict(result.field_updates or {}))
    values = {
        "client_id": result.client_id, "operation_id": operation.id, "target_id": target.id,
        "contact_id": target.contact_id, "agent_id": result.agent_id,
        "method": CallMethod(result.method or CallMethod.OWN_PHONE),
        "started_at": data.started_at, "ended_at": data.ended_at,
        "provider_sid": result.provider_sid, "provider_status": result.provider_status,
        "answers": data.answers, "notes": result.notes, "field_updates": data.field_updates,
        "callback_at": data.callback_at, "phone_id": result.phone_id, "created_at": now,
    }
    # The target row is locked (or, on SQLite, the database): a resend racing this one waits
    # here and then finds the attempt. A plain INSERT follows (cached by SQLAlchemy, unlike an
    # ON CONFLICT one); the unique client_id still refuses anything that slips through.
    attempt_id = None
    saved = False
    if row.known_attempt_id is None:
        decision = _decide_all(operation, target, data, result.disposition, now)
        values.update(decision.attempt_values)
        if lock:
            attempt_id = _insert_and_save(connection, values, decision.target)
            saved = attempt_id is not None
        else:
            attempt_id = _insert_attempt(connection, values)
    if attempt_id is None:
        existing = _find_attempt(session, result.client_id)
        if existing.recorded_at is not None:
            if (existing.disposition.startswith("auto_") and existing.agent_id == result.agent_id
                    and not result.disposition.startswith("auto_")):
                # The provider decided first (busy, machine); the caller's own result wins.
                return _reapply(session, existing, result.disposition, result.answers,
                                result.notes, now, result.callback_at)
            return _stored_outcome(existing, duplicate=True)
        # An attempt opened by `start_attempt` (a bridged call): complete it.
        data = _data_of(existing)
        data.answers = dict(result.answers or {})
        data.field_updates = dict(result.field_updates or {})
        data.callback_at = _aware(result.callback_at)
        data.ended_at = _aware(result.ended_at) or data.ended_at
        data.agent_id = result.agent_id if result.agent_id is not None else data.agent_id
        decision = _decide_all(operation, target, data, result.disposition, now)
        session.execute(update(Attempt.__table__).where(Attempt.__table__.c.id == existing.id)
                        .values(answers=data.answers, notes=result.notes,
                                field_updates=data.field_updates, callback_at=data.callback_at,
                                ended_at=data.ended_at, agent_id=data.agent_id,
                                provider_status=result.provider_status
                                or existing.provider_status,
                                **decision.attempt_values))
        attempt_id = existing.id
    data.id = attempt_id
    return _commit_decision(session, operation, target, data, decision, connection,
                            target_saved=saved)


@dataclass
class _Decision:
    target: _TargetRow  # the target as it will be saved
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


def _call_time(data: _AttemptData, now: datetime) -> datetime:
    """When the call happened (offline results arrive later), never in the future."""
    when = data.ended_at or data.started_at or now
    return min(when, now)


def _decide_all(operation, target: _TargetRow, data: _AttemptData, code: str,
                now: datetime) -> _Decision:
    """Decide, on a copy of the target, what this result does. Nothing is written."""
    rules, codes = rules_of(operation)
    group = codes[code].group
    before = _snapshot(target)
    new = _TargetRow(**{**target.__dict__})
    new.retry_counts = dict(target.retry_counts or {})
    late = not (target.state == TargetState.LEASED and target.leased_to_id == data.agent_id
                and target.lease_expires_at is not None and target.lease_expires_at > now)
    when = _call_time(data, now)
    new.attempts += 1
    new.last_attempt_at = max(target.last_attempt_at or when, when)
    state, reason, next_at, reselect = _decide(new, rules, code, group, data, when)
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
    return _Decision(new, before, outcome, excluded, when, code, outcome_time=now)


def _commit_decision(session: Session, operation, target: _TargetRow, data: _AttemptData,
                     decision: _Decision, connection: Connection | None = None,
                     target_saved: bool = False) -> RecordOutcome:
    """Save the decided target (unless done already) and apply the effects beyond it."""
    if not target_saved:
        _save_target(session, decision.target, connection)
    undo = _side_effects(session, operation, decision, data)
    if undo:
        table = Attempt.__table__
        session.execute(update(table).where(table.c.id == data.id).values(outcome={
            "result": decision.outcome.to_json(), "before": decision.before, **undo}))
    return replace(decision.outcome, attempt_id=data.id)


def _decide(target: _TargetRow, rules: OperationRules, code: str, group: DispositionGroup,
            data: _AttemptData, when: datetime):
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


def _dialed_phone(session: Session, contact: Contact, data: _AttemptData
                  ) -> ContactPhone | None:
    if data.phone_id:
        phone = session.get(ContactPhone, data.phone_id)
        if phone is not None and phone.contact_id == contact.id:
            return phone
    phone = usable_phone(session, contact)[0]
    if phone is not None and data.id is not None:
        table = Attempt.__table__
        session.execute(update(table).where(table.c.id == data.id).values(phone_id=phone.id))
    return phone


def _side_effects(session: Session, operation, decision: _Decision, data: _AttemptData
                  ) -> dict[str, Any]:
    """Effects beyond the target: number marks, opt-outs, field edits, household, the gap.
    Returns what an edit would need to undo (empty when nothing)."""
    undo: dict[str, Any] = {}
    code, target = decision.code, decision.target
    if target.contact_id is None:
        return undo
    if target.siblings and operation.call_gap_minutes:
        _push_siblings(session, target, decision.when + timedelta(
            minutes=operation.call_gap_minutes))
    household = decision.excluded and rules_of(operation)[0].exclusions.household_wide
    if not (code in NUMBER_MARKS or code in OPT_OUT_CODES or data.field_updates or household):
        return undo
    contact = session.get(Contact, target.contact_id)
    if contact is None:
        return undo
    if code in NUMBER_MARKS or code in OPT_OUT_CODES:
        phone = _dialed_phone(session, contact, data)
        if phone is not None and code in NUMBER_MARKS and phone.status == PhoneStatus.OK:
            undo["phone_mark"] = {"phone_id": phone.id, "previous": phone.status.value}
            phone.status = PhoneStatus(code)
        if code in OPT_OUT_CODES:
            # What STOP does, for the number dialed and the person called.
            opt_out(session, contact.organization_id, phone.e164 if phone else None,
                    "disposition", contact_ids=[contact.id])
    if data.field_updates:
        _apply_field_updates(session, contact, data.field_updates)
        session.flush()
        # The edit may put this person under a field exclusion here and elsewhere.
        contacts_changed(session, contact.organization_id, [contact.id])
    if household and contact.household_id is not None:
        undo["household"] = _remove_household(session, operation.id, target, contact)
    session.flush()
    return undo


def _apply_field_updates(session: Session, contact: Contact, updates: dict[str, Any]) -> None:
    """Caller edits of contact fields. The caller app passes only fields the operation marks
    editable; fields that must never be edited (and organizers' never-editable custom fields)
    are refused here whatever it passes."""
    locked = set(session.scalars(select(CustomField.key).where(
        CustomField.organization_id == contact.organization_id,
        CustomField.never_editable.is_(True))))
    custom = dict(contact.custom or {})
    for name, value in updates.items():
        if name in NEVER_EDITABLE or name in locked:
            continue
        if name in BUILTIN_FIELDS:
            setattr(contact, name, None if value in (None, "") else str(value)[:255])
        elif hasattr(Contact, name):
            continue  # not a field (ids, flags)
        else:
            custom[name] = value
    contact.custom = custom


def _remove_household(session: Session, operation_id: int, target: _TargetRow,
                      contact: Contact) -> list[dict[str, Any]]:
    """A household-wide exclusion: the others in the household leave this operation too."""
    others = session.scalars(select(Target).join(Contact, Contact.id == Target.contact_id).where(
        Target.operation_id == operation_id, Target.id != target.id,
        Contact.household_id == contact.household_id,
        Target.state.in_([TargetState.WAITING, TargetState.LEASED]),
    ).execution_options(populate_existing=True)).all()
    undo = []
    for other in others:
        undo.append({"target_id": other.id, "before": _snapshot(other)})
        other.state = TargetState.REMOVED
        other.reason = target.reason
        other.leased_to_id = other.leased_at = other.lease_expires_at = None
    return undo


def _push_siblings(session: Session, target: _TargetRow, until: datetime) -> None:
    """The organization-wide gap: this person's other targets wait until `until`."""
    session.execute(update(Target).where(
        Target.contact_id == target.contact_id, Target.id != target.id,
        Target.state == TargetState.WAITING, Target.next_eligible_at < until,
    ).values(next_eligible_at=until, reason="called_recently")
        .execution_options(synchronize_session=False))


def _revert(session: Session, attempt: Attempt) -> _TargetRow | None:
    """Undo what applying `attempt` did to its target, its number and its household."""
    target = _load_target(session, attempt.target_id) if attempt.target_id else None
    undo = attempt.outcome or {}
    if target is not None and undo.get("before"):
        _restore(target, undo["before"])
        _save_target(session, target)
    mark = undo.get("phone_mark")
    if mark:
        phone = session.get(ContactPhone, mark["phone_id"])
        if phone is not None and phone.status.value == attempt.disposition:
            phone.status = PhoneStatus(mark["previous"])
    for item in undo.get("household") or []:
        other = _load_target(session, item["target_id"])
        if other is not None and other.state == TargetState.REMOVED:
            _restore(other, item["before"])
            _save_target(session, other)
    return target


def _reapply(session: Session, attempt: Attempt, code: str, answers: dict | None,
             notes: str | None, now: datetime, callback_at: datetime | None = None
             ) -> RecordOutcome:
    """Replace a recorded result by another: undo the first, apply the second."""
    operation = _load_operation(session, attempt.operation_id)
    codes = rules_of(operation)[1]
    if code not in codes:
        raise QueueError(f"unknown disposition {code!r}")
    target = _revert(session, attempt)
    data = _data_of(attempt)
    if answers is not None:
        data.answers = dict(answers)
    if callback_at is not None:
        data.callback_at = _aware(callback_at)
    table = Attempt.__table__
    changes = {"answers": data.answers, "callback_at": data.callback_at, "edited_at": now}
    if notes is not None:
        changes["notes"] = notes
    if target is None:
        group = codes[code].group.value
        session.execute(update(table).where(table.c.id == attempt.id).values(
            disposition=code, disposition_group=group, **changes))
        return RecordOutcome(attempt.id, None, code, group, TargetState.REMOVED.value,
                             "erased", None)
    decision = _decide_all(operation, target, data, code, now)
    values = decision.attempt_values
    values["recorded_at"] = attempt.recorded_at  # an edit keeps the first time
    session.execute(update(table).where(table.c.id == attempt.id).values(**values, **changes))
    session.expire(attempt)
    return _commit_decision(session, operation, target, data, decision)


def edit_result(session: Session, client_id: str, agent_id: int, disposition: str,
                answers: dict[str, Any] | None = None, notes: str | None = None,
                callback_at: datetime | None = None, now: datetime | None = None
                ) -> RecordOutcome:
    """Change the last result an agent recorded, within 10 minutes and before anyone else
    called that person again. The old result's effects on the target, the dialed number and
    the household are undone and the new one applied (an opt-out is never undone here)."""
    now = _now(now)
    begin_write(session)
    attempt = _find_attempt(session, client_id)
    if attempt is None or attempt.recorded_at is None or attempt.agent_id != agent_id:
        raise QueueError("no such result of yours")
    if now - attempt.recorded_at > EDIT_WINDOW:
        raise QueueError("a result can only be changed within 10 minutes")
    later = session.scalar(select(Attempt.id).where(
        Attempt.target_id == attempt.target_id, Attempt.id > attempt.id,
        Attempt.recorded_at.is_not(None)))
    if later is not None:
        raise QueueError("this person was called again since")
    return _reapply(session, attempt, disposition, answers, notes, now, callback_at)


def start_attempt(session: Session, client_id: str, operation_id: int, target_id: int,
                  agent_id: int | None, method: CallMethod | str = CallMethod.BRIDGED,
                  provider_sid: str | None = None, now: datetime | None = None) -> Attempt:
    """An attempt whose result is not known yet (a bridged call being placed). Its result
    comes from `record_result` with the same client_id, or from the provider's status via
    `apply_provider_status`. Idempotent by client_id."""
    now = _now(now)
    begin_write(session)
    existing = _find_attempt(session, client_id)
    if existing is not None:
        return existing
    target = session.get(Target, target_id)
    if target is None or target.operation_id != operation_id:
        raise QueueError("unknown target")
    attempt = Attempt(client_id=client_id, operation_id=operation_id, target_id=target_id,
                      contact_id=target.contact_id, agent_id=agent_id,
                      method=CallMethod(method), provider_sid=provider_sid, started_at=now,
                      created_at=now)
    session.add(attempt)
    session.flush()
    return attempt


def apply_provider_status(session: Session, attempt_or_sid: Attempt | str, status: str,
                          now: datetime | None = None) -> RecordOutcome | None:
    """Store the provider's call status on the attempt; a final failure (busy, no-answer,
    failed, answering machine) becomes the automatic disposition and its rules apply, unless
    a result was recorded already. Returns the outcome when a disposition was applied."""
    now = _now(now)
    begin_write(session)
    if isinstance(attempt_or_sid, str):
        attempt = session.scalars(select(Attempt).where(Attempt.provider_sid == attempt_or_sid)
                                  .execution_options(populate_existing=True)).first()
    else:
        attempt = attempt_or_sid
        session.refresh(attempt)
    if attempt is None:
        return None
    status = (status or "").strip().lower()
    attempt.provider_status = status[:32]
    code = PROVIDER_STATUS_CODES.get(status)
    session.flush()
    if code is None or attempt.recorded_at is not None or attempt.target_id is None:
        return None
    operation = _load_operation(session, attempt.operation_id)
    target = _load_target(session, attempt.target_id)
    if operation is None or target is None:
        return None
    data = _data_of(attempt)
    data.ended_at = data.ended_at or now
    decision = _decide_all(operation, target, data, code, now)
    table = Attempt.__table__
    session.execute(update(table).where(table.c.id == attempt.id).values(
        ended_at=data.ended_at, **decision.attempt_values))
    session.expire(attempt)
    return _commit_decision(session, operation, target, data, decision)
