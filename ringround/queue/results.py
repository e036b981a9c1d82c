"""Applying a call's result: retries, cooldown, cap, done-conditions, exclusions, marks.

A result carries a client-made id: a resend with the same id changes nothing and returns the
first outcome. A result may arrive after its lease expired, or after the target was leased to
someone else (offline batches): it is kept and counted once, and never takes a target out of
`done` or `removed`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ringround.dispositions import (
    NUMBER_MARKS,
    OPT_OUT_CODES,
    PROVIDER_STATUS_CODES,
    disposition_map,
)
from ringround.models import (
    Attempt,
    CallMethod,
    Contact,
    ContactPhone,
    CustomField,
    DispositionGroup,
    Operation,
    Organization,
    PhoneStatus,
    Target,
    TargetState,
)
from ringround.operation_rules import OperationRules, rules_for
from ringround.queue._tx import begin_write, is_postgresql
from ringround.queue.checks import BUILTIN_FIELDS, answer_matches, usable_phone
from ringround.queue.leasing import QueueError, _now

EDIT_WINDOW = timedelta(minutes=10)
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
        data = asdict(self)
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


def _snapshot(target: Target) -> dict[str, Any]:
    data = {}
    for name in _SNAPSHOT:
        value = getattr(target, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, TargetState):
            value = value.value
        data[name] = value
    return data


def _restore(target: Target, data: dict[str, Any]) -> None:
    for name in _SNAPSHOT:
        value = data.get(name)
        if name in ("next_eligible_at", "last_attempt_at", "leased_at", "lease_expires_at",
                    "reselect_at") and value:
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


def _lock_target(session: Session, target_id: int) -> Target | None:
    stmt = select(Target).where(Target.id == target_id)
    if is_postgresql(session):
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def _find_attempt(session: Session, client_id: str) -> Attempt | None:
    return session.scalar(select(Attempt).where(Attempt.client_id == client_id))


def record_result(session: Session, result: ResultIn, now: datetime | None = None
                  ) -> RecordOutcome:
    """Record a call's result and apply the operation's rules to its target.

    Idempotent by `result.client_id`. Raises QueueError for an unknown target, operation or
    disposition. The caller commits (and should do so promptly: the write lock is held).
    """
    now = _now(now)
    begin_write(session)
    existing = _find_attempt(session, result.client_id)
    if existing is not None and existing.recorded_at is not None:
        if existing.disposition.startswith("auto_") and not result.disposition.startswith(
                "auto_") and existing.agent_id == result.agent_id:
            # The provider decided first (busy, machine); the caller's own result wins.
            return _reapply(session, existing, result.disposition, result.answers,
                            result.notes, now, result.callback_at)
        return RecordOutcome.from_json(existing.outcome["result"], duplicate=True)
    operation = session.get(Operation, result.operation_id)
    if operation is None:
        raise QueueError("unknown operation")
    codes = disposition_map(operation.dispositions)
    if result.disposition not in codes:
        raise QueueError(f"unknown disposition {result.disposition!r}")
    target = _lock_target(session, result.target_id)
    if target is None or target.operation_id != operation.id:
        raise QueueError("unknown target")
    attempt = existing or Attempt(client_id=result.client_id, created_at=now)
    attempt.operation_id = operation.id
    attempt.target_id = target.id
    attempt.contact_id = target.contact_id
    attempt.agent_id = result.agent_id if result.agent_id is not None else attempt.agent_id
    attempt.method = CallMethod(result.method or CallMethod.OWN_PHONE)
    attempt.started_at = _aware(result.started_at) or attempt.started_at
    attempt.ended_at = _aware(result.ended_at) or attempt.ended_at
    attempt.provider_sid = result.provider_sid or attempt.provider_sid
    attempt.provider_status = result.provider_status or attempt.provider_status
    attempt.answers = dict(result.answers or {})
    attempt.notes = result.notes
    attempt.field_updates = dict(result.field_updates or {})
    attempt.callback_at = _aware(result.callback_at)
    attempt.phone_id = result.phone_id or attempt.phone_id
    if existing is None:
        # Two resends racing (PostgreSQL): the unique client_id lets one insert win.
        try:
            with session.begin_nested():
                session.add(attempt)
                session.flush()
        except IntegrityError:
            first = _find_attempt(session, result.client_id)
            if first is None or first.recorded_at is None:
                raise
            return RecordOutcome.from_json(first.outcome["result"], duplicate=True)
    return _apply(session, operation, target, attempt, result.disposition, now)


def _call_time(attempt: Attempt, now: datetime) -> datetime:
    """When the call happened (offline results arrive later), never in the future."""
    when = attempt.ended_at or attempt.started_at or now
    return min(when, now)


def _apply(session: Session, operation: Operation, target: Target, attempt: Attempt,
           code: str, now: datetime) -> RecordOutcome:
    rules = rules_for(operation)
    group = disposition_map(operation.dispositions)[code].group
    before = _snapshot(target)
    late = not (target.state == TargetState.LEASED and target.leased_to_id == attempt.agent_id
                and target.lease_expires_at is not None and target.lease_expires_at > now)
    when = _call_time(attempt, now)
    undo: dict[str, Any] = {"before": before}

    target.attempts += 1
    target.last_attempt_at = max(target.last_attempt_at or when, when)
    state, reason, next_at, reselect = _decide(target, rules, code, group, attempt, when)
    final_before = target.state in (TargetState.DONE, TargetState.REMOVED)
    held_by_other = (target.state == TargetState.LEASED and target.leased_to_id != attempt.agent_id
                     and target.lease_expires_at is not None and target.lease_expires_at > now)
    if final_before:
        pass  # a late result never brings a finished target back
    elif state == TargetState.WAITING and held_by_other:
        # Someone else is on this person now: leave their lease, but move the next call.
        target.next_eligible_at = max(target.next_eligible_at, next_at)
        target.reason = reason
    else:
        target.state = state
        target.reason = reason
        target.reselect_at = reselect
        if next_at is not None:
            target.next_eligible_at = next_at
        target.leased_to_id = None
        target.leased_at = None
        target.lease_expires_at = None

    contact = session.get(Contact, target.contact_id) if target.contact_id else None
    if contact is not None:
        excluded = (not final_before and target.state == TargetState.REMOVED
                    and target.reason != code)
        undo.update(_side_effects(session, operation, rules, target, contact, attempt, code,
                                  when, excluded))
    attempt.disposition = code
    attempt.disposition_group = group
    attempt.recorded_at = attempt.recorded_at or now  # an edit keeps the first time
    outcome = RecordOutcome(
        attempt_id=attempt.id, target_id=target.id, disposition=code, group=group.value,
        target_state=target.state.value, reason=target.reason,
        next_eligible_at=target.next_eligible_at if target.state == TargetState.WAITING
        or held_by_other else None, late=late,
    )
    attempt.outcome = {"result": outcome.to_json(), **undo}
    session.flush()
    return outcome


def _decide(target: Target, rules: OperationRules, code: str, group: DispositionGroup,
            attempt: Attempt, when: datetime):
    """The target's next (state, reason, next eligible time, reselect time)."""
    answers = attempt.answers or {}
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
    used = dict(target.retry_counts or {})
    if retry is None or used.get(code, 0) >= retry.retries:
        if group == DispositionGroup.CONTACTED:
            return TargetState.DONE, code, None, None
        return TargetState.DONE, "attempts_used_up", None, None
    cap = rules.max_calls_per_person
    if cap is not None and target.attempts >= cap:
        return TargetState.DONE, "attempts_used_up", None, None
    used[code] = used.get(code, 0) + 1
    target.retry_counts = used
    next_at = when + timedelta(minutes=retry.interval_minutes)
    reason = "cooldown"
    if attempt.callback_at is not None and attempt.callback_at > when:
        next_at, reason = attempt.callback_at, "call_back_later"
    elif code == "call_back":
        reason = "call_back_later"
    cooldown = when + timedelta(minutes=rules.cooldown_minutes)
    if cooldown > next_at:
        next_at, reason = cooldown, "cooldown"
    return TargetState.WAITING, reason, next_at, None


def _dialed_phone(session: Session, contact: Contact, attempt: Attempt) -> ContactPhone | None:
    if attempt.phone_id:
        phone = session.get(ContactPhone, attempt.phone_id)
        if phone is not None and phone.contact_id == contact.id:
            return phone
    phone = usable_phone(session, contact)[0]
    if phone is not None:
        attempt.phone_id = phone.id
    return phone


def _side_effects(session: Session, operation: Operation, rules: OperationRules,
                  target: Target, contact: Contact, attempt: Attempt, code: str,
                  when: datetime, excluded: bool) -> dict[str, Any]:
    """Effects beyond the target: number marks, opt-outs, field edits, household, the gap.
    Returns what an edit would need to undo."""
    undo: dict[str, Any] = {}
    if code in NUMBER_MARKS or code in OPT_OUT_CODES:
        phone = _dialed_phone(session, contact, attempt)
        if phone is not None and code in NUMBER_MARKS and phone.status == PhoneStatus.OK:
            undo["phone_mark"] = {"phone_id": phone.id, "previous": phone.status.value}
            phone.status = PhoneStatus(code)
        if code in OPT_OUT_CODES:
            from ringround.optouts import opt_out_number

            if phone is not None:
                opt_out_number(session, contact.organization_id, phone.e164, "disposition")
            contact.do_not_contact = True
    if attempt.field_updates:
        _apply_field_updates(session, contact, attempt.field_updates)
    if rules.exclusions.household_wide and contact.household_id is not None and excluded:
        undo["household"] = _remove_household(session, operation, target, contact)
    _push_siblings(session, operation, target, contact, when)
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


def _remove_household(session: Session, operation: Operation, target: Target,
                      contact: Contact) -> list[dict[str, Any]]:
    """A household-wide exclusion: the others in the household leave this operation too."""
    others = session.scalars(select(Target).join(Contact, Contact.id == Target.contact_id).where(
        Target.operation_id == operation.id, Target.id != target.id,
        Contact.household_id == contact.household_id,
        Target.state.in_([TargetState.WAITING, TargetState.LEASED]))).all()
    undo = []
    for other in others:
        undo.append({"target_id": other.id, "before": _snapshot(other)})
        other.state = TargetState.REMOVED
        other.reason = target.reason
        other.leased_to_id = other.leased_at = other.lease_expires_at = None
    return undo


def _push_siblings(session: Session, operation: Operation, target: Target, contact: Contact,
                   when: datetime) -> None:
    """The organization-wide gap: this person's other targets wait until `when + gap`."""
    org = session.get(Organization, operation.organization_id)
    gap = timedelta(minutes=org.call_gap_minutes or 0) if org else timedelta(0)
    if not gap:
        return
    until = when + gap
    session.execute(update(Target).where(
        Target.contact_id == contact.id, Target.id != target.id,
        Target.state == TargetState.WAITING, Target.next_eligible_at < until,
    ).values(next_eligible_at=until, reason="called_recently")
        .execution_options(synchronize_session=False))


def _revert(session: Session, attempt: Attempt) -> Target | None:
    """Undo what applying `attempt` did to its target, its number and its household."""
    target = _lock_target(session, attempt.target_id) if attempt.target_id else None
    undo = attempt.outcome or {}
    if target is not None and undo.get("before"):
        _restore(target, undo["before"])
    mark = undo.get("phone_mark")
    if mark:
        phone = session.get(ContactPhone, mark["phone_id"])
        if phone is not None and phone.status.value == attempt.disposition:
            phone.status = PhoneStatus(mark["previous"])
    for item in undo.get("household") or []:
        other = _lock_target(session, item["target_id"])
        if other is not None and other.state == TargetState.REMOVED:
            _restore(other, item["before"])
    return target


def _reapply(session: Session, attempt: Attempt, code: str, answers: dict | None,
             notes: str | None, now: datetime, callback_at: datetime | None = None
             ) -> RecordOutcome:
    operation = session.get(Operation, attempt.operation_id)
    if code not in disposition_map(operation.dispositions):
        raise QueueError(f"unknown disposition {code!r}")
    target = _revert(session, attempt)
    if answers is not None:
        attempt.answers = dict(answers)
    if notes is not None:
        attempt.notes = notes
    if callback_at is not None:
        attempt.callback_at = _aware(callback_at)
    attempt.edited_at = now
    if target is None:
        attempt.disposition = code
        attempt.disposition_group = disposition_map(operation.dispositions)[code].group
        session.flush()
        return RecordOutcome(attempt.id, None, code, attempt.disposition_group.value,
                             TargetState.REMOVED.value, "erased", None)
    return _apply(session, operation, target, attempt, code, now)


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
    attempt = attempt_or_sid
    if isinstance(attempt_or_sid, str):
        attempt = session.scalar(select(Attempt).where(Attempt.provider_sid == attempt_or_sid))
    if attempt is None:
        return None
    status = (status or "").strip().lower()
    attempt.provider_status = status[:32]
    code = PROVIDER_STATUS_CODES.get(status)
    if code is None or attempt.recorded_at is not None or attempt.target_id is None:
        session.flush()
        return None
    operation = session.get(Operation, attempt.operation_id)
    target = _lock_target(session, attempt.target_id)
    if operation is None or target is None:
        return None
    attempt.ended_at = attempt.ended_at or now
    return _apply(session, operation, target, attempt, code, now)
