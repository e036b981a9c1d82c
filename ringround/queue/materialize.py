"""Targets from an operation's source: a saved list or filter of contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from ringround.models import (
    Contact,
    ContactPhone,
    Operation,
    OperationState,
    Organization,
    PhoneStatus,
    SavedList,
    Target,
    TargetState,
)
from ringround.operation_rules import rules_for
from ringround.queue._tx import begin_write
from ringround.queue.checks import RECHECK_AFTER, opted_out_label
from ringround.queue.exclusions import apply_exclusions
from ringround.queue.leasing import _now
from ringround.queue.windows import is_valid_zone


def source_filter(session: Session, operation: Operation) -> dict:
    """The filter an operation draws its contacts from (its saved list's, else its own)."""
    if operation.source_list_id is not None:
        saved = session.get(SavedList, operation.source_list_id)
        if saved is not None:
            return saved.filter or {}
    return operation.source_filter or {}


def source_contact_ids(session: Session, operation: Operation):
    """A SELECT of the contact ids matching the operation's source."""
    # Here, not at the top: people.filters imports queue.exclusions (bulk tags re-check
    # exclusions), which loads this package and, through it, this module.
    from ringround.people.filters import contact_ids_select

    return contact_ids_select(operation.organization_id, source_filter(session, operation))


def materialize_targets(session: Session, operation: Operation,
                        contact_ids: list[int] | None = None,
                        now: datetime | None = None) -> int:
    """Create the waiting targets of an operation for contacts matching its source (or for
    those of `contact_ids` that match it: a sign-up or a share). Idempotent: run it again to
    add contacts that match since. Returns how many targets were created.

    The contact's time zone is copied onto the target (the organization's when the contact
    has none or an unknown one), and targets without a usable number start on hold.
    """
    now = _now(now)
    begin_write(session)
    org = session.get(Organization, operation.organization_id)
    org_zone = org.time_zone if org and is_valid_zone(org.time_zone) else "UTC"
    wanted = source_contact_ids(session, operation)
    if contact_ids is not None:  # only these, and only if the source takes them
        wanted = wanted.where(Contact.id.in_(list(contact_ids)))
    wanted = wanted.subquery("wanted")
    # Eligible from the operation's start (or now, if it has none or starts later).
    eligible = min(now, operation.starts_at) if operation.starts_at else now
    t = Target.__table__
    c = Contact.__table__
    source = select(
        literal(operation.id), c.c.id, literal(TargetState.WAITING.value),
        func.coalesce(c.c.time_zone, org_zone), literal(0),
        literal(eligible, t.c.next_eligible_at.type),
    ).select_from(c.join(wanted, wanted.c[0] == c.c.id)).where(
        c.c.organization_id == operation.organization_id,
        ~exists().where(t.c.operation_id == operation.id, t.c.contact_id == c.c.id),
    ).distinct()
    created = session.execute(insert(t).from_select(
        ["operation_id", "contact_id", "state", "time_zone", "attempts", "next_eligible_at"],
        source)).rowcount
    _fix_zones(session, operation, org_zone)
    # No usable number yet: on hold, looked at again later (the lease checks it too).
    p = ContactPhone.__table__
    session.execute(update(t).where(
        t.c.operation_id == operation.id, t.c.state == TargetState.WAITING,
        t.c.attempts == 0, t.c.reason.is_(None),
        ~exists().where(p.c.contact_id == t.c.contact_id, p.c.status == PhoneStatus.OK),
    ).values(reason="no_number", next_eligible_at=now + RECHECK_AFTER))
    # Opted out: removed with the organizer's label if an exclusion says so, else on hold.
    label = opted_out_label(rules_for(operation))
    session.execute(update(t).where(
        t.c.operation_id == operation.id, t.c.state == TargetState.WAITING,
        t.c.attempts == 0, or_(t.c.reason.is_(None), t.c.reason == "no_number"),
        exists().where(and_(c.c.id == t.c.contact_id, c.c.do_not_contact.is_(True))),
    ).values(**({"state": TargetState.REMOVED, "reason": label} if label else
                {"reason": "opted_out", "next_eligible_at": now + RECHECK_AFTER})))
    # Field and tag exclusions now, so that the dashboard never counts them as ready.
    apply_exclusions(session, operation, contact_ids, now)
    session.expire(operation, ["time_zones"])
    return created or 0


def _fix_zones(session: Session, operation: Operation, org_zone: str) -> None:
    """Unknown zone names fall back to the organization's; remember the zones present."""
    t = Target.__table__
    zones = set(session.scalars(select(t.c.time_zone).where(
        t.c.operation_id == operation.id).distinct()))
    bad = [z for z in zones if not is_valid_zone(z)]
    if bad:
        session.execute(update(t).where(t.c.operation_id == operation.id,
                                        t.c.time_zone.in_(bad)).values(time_zone=org_zone))
        zones = (zones - set(bad)) | {org_zone}
    session.execute(update(Operation).where(Operation.id == operation.id)
                    .values(time_zones=sorted(zones))
                    .execution_options(synchronize_session=False))


def refresh_operations(session: Session, org_id: int, now: datetime | None = None) -> int:
    """Add newly matching contacts to every active or paused operation of an organization
    (after an import or a sign-up). Returns how many targets were created."""
    operations = session.scalars(select(Operation).where(
        Operation.organization_id == org_id,
        Operation.state.in_([OperationState.ACTIVE, OperationState.PAUSED]))).all()
    return sum(materialize_targets(session, op, now=now) for op in operations)


def follow_contact_zone(session: Session, contact: Contact) -> None:
    """A contact's time zone was corrected: their waiting targets in operations not ended take
    it (the organization's zone when it has none or an unknown one, as `materialize_targets`
    does), and those operations remember the zones they hold."""
    operations = session.scalars(select(Operation).where(
        Operation.state != OperationState.ENDED,
        Operation.id.in_(select(Target.operation_id).where(
            Target.contact_id == contact.id, Target.state == TargetState.WAITING)))).all()
    if not operations:
        return
    org = session.get(Organization, contact.organization_id)
    org_zone = org.time_zone if org and is_valid_zone(org.time_zone) else "UTC"
    session.execute(update(Target).where(
        Target.contact_id == contact.id, Target.state == TargetState.WAITING,
        Target.operation_id.in_([operation.id for operation in operations]),
    ).values(time_zone=contact.time_zone if is_valid_zone(contact.time_zone) else org_zone)
        .execution_options(synchronize_session=False))
    for operation in operations:
        _fix_zones(session, operation, org_zone)
        session.expire(operation, ["time_zones"])
