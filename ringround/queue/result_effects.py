"""A decided result's effects: the target saved, and what reaches beyond it (the number's
mark, the opt-out of "do not call", the caller's field edits, a household-wide exclusion, the
organization's gap between calls to one person).

`commit_decision` returns the outcome; what an edit would need to undo is kept on the attempt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ringround.dispositions import NUMBER_MARKS, OPT_OUT_CODES
from ringround.models import (
    Attempt,
    Contact,
    ContactPhone,
    CustomField,
    CustomFieldType,
    PhoneStatus,
    Target,
    TargetState,
)
from ringround.optouts import opt_out
from ringround.people.contact_values import INVALID, clean_caller_value
from ringround.queue._sql import rules_of
from ringround.queue.checks import BUILTIN_FIELDS, usable_phone
from ringround.queue.decisions import Decision
from ringround.queue.exclusions import contacts_changed
from ringround.queue.result_rows import save_target
from ringround.queue.result_types import AttemptData, RecordOutcome, TargetRow, snapshot

# Caller edits never touch these, whatever the operation's field settings say.
NEVER_EDITABLE = frozenset({"date_of_birth", "time_zone", "source", "country"})


def commit_decision(session: Session, operation, target: TargetRow, data: AttemptData,
                    decision: Decision, connection: Connection | None = None,
                    target_saved: bool = False) -> RecordOutcome:
    """Save the decided target (unless done already) and apply the effects beyond it."""
    if not target_saved:
        save_target(session, decision.target, connection)
    undo = _side_effects(session, operation, decision, data)
    if undo:
        table = Attempt.__table__
        session.execute(update(table).where(table.c.id == data.id).values(outcome={
            "result": decision.outcome.to_json(), "before": decision.before, **undo}))
    return replace(decision.outcome, attempt_id=data.id)


def _dialed_phone(session: Session, contact: Contact, data: AttemptData
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


def _side_effects(session: Session, operation, decision: Decision, data: AttemptData
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
    are refused here whatever it passes. Values are cleaned by the import's rules
    (`clean_caller_value`): one that is not valid leaves the field as it was (the result
    keeps what the caller typed, for the organizers)."""
    custom_types = {key: (kind, locked) for key, kind, locked in session.execute(
        select(CustomField.key, CustomField.type, CustomField.never_editable).where(
            CustomField.organization_id == contact.organization_id))}
    custom = dict(contact.custom or {})
    for name, value in updates.items():
        if name in NEVER_EDITABLE or custom_types.get(name, (None, False))[1]:
            continue
        if name in BUILTIN_FIELDS:
            cleaned = clean_caller_value(name, value)
            if cleaned is not INVALID:
                setattr(contact, name, cleaned)
        elif hasattr(Contact, name):
            continue  # not a field (ids, flags)
        else:
            kind = custom_types.get(name, (CustomFieldType.TEXT, False))[0]
            cleaned = clean_caller_value(name, value, kind)
            if cleaned is not INVALID:
                custom[name] = cleaned
    contact.custom = custom


def _remove_household(session: Session, operation_id: int, target: TargetRow,
                      contact: Contact) -> list[dict[str, Any]]:
    """A household-wide exclusion: the others in the household leave this operation too."""
    others = session.scalars(select(Target).join(Contact, Contact.id == Target.contact_id).where(
        Target.operation_id == operation_id, Target.id != target.id,
        Contact.household_id == contact.household_id,
        Target.state.in_([TargetState.WAITING, TargetState.LEASED]),
    ).execution_options(populate_existing=True)).all()
    undo = []
    for other in others:
        undo.append({"target_id": other.id, "before": snapshot(other)})
        other.state = TargetState.REMOVED
        other.reason = target.reason
        other.leased_to_id = other.leased_at = other.lease_expires_at = None
    return undo


def _push_siblings(session: Session, target: TargetRow, until: datetime) -> None:
    """The organization-wide gap: this person's other targets wait until `until`."""
    session.execute(update(Target).where(
        Target.contact_id == target.contact_id, Target.id != target.id,
        Target.state == TargetState.WAITING, Target.next_eligible_at < until,
    ).values(next_eligible_at=until, reason="called_recently")
        .execution_options(synchronize_session=False))
