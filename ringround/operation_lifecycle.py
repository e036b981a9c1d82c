"""An operation's review and lifecycle: readiness, activate, pause, resume, end, delete a
draft, duplicate; and which operations a volunteer may call for.

Activating and resuming materialize targets from the source (`ringround.queue`)."""

from __future__ import annotations

import calendar
import copy
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround import questionnaires
from ringround.audit import record_audit
from ringround.models import (
    Membership,
    Operation,
    OperationMember,
    OperationMode,
    OperationRole,
    OperationState,
    OrgRole,
    User,
    utcnow,
)
from ringround.operation_errors import OperationError, actor_id
from ringround.queue import materialize_targets


def one_month_after(moment: datetime) -> datetime:
    """The same day and time one calendar month later (the 31st becomes the month's last day)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def readiness_problems(session: Session, operation: Operation) -> list[str]:
    """What stops this operation from being activated ([] when it is ready)."""
    problems = []
    if operation.source_list_id is None and not operation.source_filter:
        problems.append(_("Choose who to call (a saved list or a filter)."))
    if operation.starts_at is None or operation.ends_at is None:
        problems.append(_("Set the start and end."))
    elif operation.ends_at <= utcnow():
        problems.append(_("The end date has passed."))
    if not operation.allow_own_phone and not operation.allow_campaign_line:
        problems.append(_("Choose at least one way to call."))
    questions = questionnaires.questions_of(operation.questionnaire)
    if operation.mode is OperationMode.GUIDED and not questions:
        problems.append(_("Guided mode needs at least one question."))
    problems += questionnaires.validate(operation.questionnaire)
    return problems


def refresh_targets(session: Session, operation: Operation) -> int | None:
    """Materialize targets from the source when the operation is live (the queue does it)."""
    if operation.state is not OperationState.ACTIVE:
        return None
    return _materialize(session, operation)


def _materialize(session: Session, operation: Operation) -> int | None:
    session.flush()
    return materialize_targets(session, operation)


def activate(session: Session, operation: Operation, actor: User | None) -> int | None:
    """Review passed: the operation goes live and its targets are materialized from the source.
    Returns how many targets the queue added (None when the queue is not installed)."""
    if operation.state is not OperationState.DRAFT:
        raise OperationError(_("Only a draft can be activated."))
    problems = readiness_problems(session, operation)
    if problems:
        raise OperationError(" ".join(problems))
    operation.state = OperationState.ACTIVE
    added = _materialize(session, operation)
    record_audit(session, operation.organization_id, actor_id(actor), "operation.activated",
                 "operation", operation.id, {"targets_added": added})
    return added


def pause(session: Session, operation: Operation, actor: User | None) -> Operation:
    """Stop handing out targets for now (results still arrive)."""
    if operation.state is not OperationState.ACTIVE:
        raise OperationError(_("Only an active operation can be paused."))
    operation.state = OperationState.PAUSED
    record_audit(session, operation.organization_id, actor_id(actor), "operation.paused",
                 "operation", operation.id)
    return operation


def resume(session: Session, operation: Operation, actor: User | None) -> Operation:
    """Hand out targets again, picking up contacts that newly match the source."""
    if operation.state is not OperationState.PAUSED:
        raise OperationError(_("Only a paused operation can be resumed."))
    problems = readiness_problems(session, operation)
    if problems:
        raise OperationError(" ".join(problems))
    operation.state = OperationState.ACTIVE
    _materialize(session, operation)
    record_audit(session, operation.organization_id, actor_id(actor), "operation.resumed",
                 "operation", operation.id)
    return operation


def end(session: Session, operation: Operation, actor: User | None) -> Operation:
    """Finish for good: no more calls; results stay."""
    if operation.state not in (OperationState.ACTIVE, OperationState.PAUSED,
                               OperationState.DRAFT):
        raise OperationError(_("This operation has already ended."))
    operation.state = OperationState.ENDED
    record_audit(session, operation.organization_id, actor_id(actor), "operation.ended",
                 "operation", operation.id)
    return operation


def can_delete(session: Session, operation: Operation, user: User) -> bool:
    """Only a draft can be deleted, and only by its organization's admins and organizers."""
    role = session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.organization_id == operation.organization_id))
    return operation.state is OperationState.DRAFT and role in (OrgRole.ADMIN,
                                                               OrgRole.ORGANIZER)


def delete_draft(session: Session, operation: Operation, actor: User) -> None:
    """Delete a draft for good (with its members and join links). Active, paused and ended
    operations are never deleted: their results matter; they are paused or ended instead."""
    if operation.state is not OperationState.DRAFT:
        raise OperationError(_("Only a draft can be deleted: pause or end this operation instead."))
    if not can_delete(session, operation, actor):
        raise OperationError(_("Only the organization's admins and organizers delete drafts."))
    record_audit(session, operation.organization_id, actor.id, "operation.deleted",
                 "operation", operation.id, {"name": operation.name})
    session.delete(operation)
    session.flush()


COPIED_COLUMNS = ("description", "mode", "source_list_id", "source_filter", "window_start",
                  "window_end", "weekdays", "allow_own_phone", "allow_campaign_line", "script",
                  "questionnaire", "dispositions", "retry_rules", "exclusions",
                  "field_settings", "voicemail_policy", "cooldown_minutes",
                  "max_calls_per_person", "campaign_number")


def duplicate(session: Session, operation: Operation, actor: User) -> Operation:
    """A new draft with the same settings and members (no targets, no results), its dates
    moved to start now and keep the same length."""
    now = utcnow().replace(second=0, microsecond=0)
    length = (operation.ends_at - operation.starts_at
              if operation.starts_at and operation.ends_at else None)
    copy_ = Operation(
        organization_id=operation.organization_id, state=OperationState.DRAFT,
        name=f"{operation.name} (copy)"[:200], starts_at=now,
        ends_at=now + length if length and length > timedelta(0) else one_month_after(now),
        **{column: copy.deepcopy(getattr(operation, column)) for column in COPIED_COLUMNS},
    )
    for member in operation.members:
        copy_.members.append(OperationMember(
            user_id=member.user_id, role=member.role, prefer_tags=list(member.prefer_tags),
            avoid_tags=list(member.avoid_tags)))
    if not any(m.user_id == actor.id and m.role is OperationRole.OWNER for m in copy_.members):
        existing = next((m for m in copy_.members if m.user_id == actor.id), None)
        if existing:
            existing.role = OperationRole.OWNER
        else:
            copy_.members.append(OperationMember(user_id=actor.id, role=OperationRole.OWNER))
    session.add(copy_)
    session.flush()
    record_audit(session, operation.organization_id, actor.id, "operation.duplicated",
                 "operation", copy_.id, {"from": operation.id})
    return copy_


def operations_to_call(session: Session, user: User) -> list[Operation]:
    """The operations `user` is a member of that have not ended, newest first (the caller
    app's start page and the share sheet's landing offer these)."""
    return list(session.scalars(
        select(Operation).join(OperationMember).where(
            OperationMember.user_id == user.id, Operation.state != OperationState.ENDED,
        ).order_by(Operation.id.desc())))
