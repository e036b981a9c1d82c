"""Choosing the next target and leasing it to an agent; releasing and expiring leases.

The order (ARCHITECTURE.md, "Rules the queue applies"): targets whose contact carries one of
the agent's prefer tags first, then fewest attempts, then longest since the last attempt.
One index probe per time zone that is inside the window right now (`ix_targets_ready`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, or_, select, text, update
from sqlalchemy.orm import Session

from ringround.models import (
    Contact,
    ContactPhone,
    Operation,
    OperationMember,
    OperationState,
    Organization,
    Tag,
    Target,
    TargetState,
    User,
    contact_tags,
    utcnow,
)
from ringround.operation_rules import OperationRules, rules_for
from ringround.queue._tx import begin_write, is_postgresql
from ringround.queue.checks import Verdict, check_candidate, usable_phone
from ringround.queue.windows import zones_inside

# An online lease covers one call and the time to record it; if the caller vanishes (closed
# tab, dead battery), the person goes back in line after this long.
ONLINE_LEASE_MINUTES = 20
# An offline batch is taken before a shift without network (a bus, a basement): it must
# outlast the shift, but not the day, so what is never called returns to the queue overnight.
OFFLINE_LEASE_MINUTES = 12 * 60
MAX_BATCH = 50
# A skipped target is put aside for a while so the next card is someone else.
SKIP_DELAY = timedelta(minutes=10)
# Looking at more candidates than this in one call means the line is full of targets that
# fail the per-person checks; give up for now rather than hold the write lock for long.
MAX_CHECKS_PER_CALL = 64
# Expired leases of an operation are swept by lease calls at most this often.
EXPIRE_EVERY = timedelta(seconds=30)

WAITING_SQL = text("targets.state = 'waiting'")  # a literal, so the partial index applies


@dataclass(frozen=True)
class Lease:
    """A target reserved for one agent until `expires_at`."""

    target_id: int
    operation_id: int
    contact_id: int
    phone_id: int
    phone_e164: str  # the number to dial, E.164
    expires_at: datetime
    attempts: int


class QueueError(ValueError):
    """A request the queue refuses (unknown target, wrong operation, not the agent's)."""


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the queue")
    return now.astimezone(UTC)


def operation_running(operation: Operation, now: datetime) -> bool:
    """Active, and within its start and end dates."""
    if operation.state != OperationState.ACTIVE:
        return False
    if operation.starts_at is not None and now < operation.starts_at:
        return False
    return not (operation.ends_at is not None and now >= operation.ends_at)


def own_contact_ids(session: Session, org_id: int, agent: User) -> list[int]:
    """The agent's own contact records in the organization: never given to them."""
    conditions = [Contact.user_id == agent.id]
    if agent.phone_e164:
        conditions.append(Contact.id.in_(select(ContactPhone.contact_id).where(
            ContactPhone.organization_id == org_id, ContactPhone.e164 == agent.phone_e164)))
    return list(session.scalars(select(Contact.id).where(
        Contact.organization_id == org_id, or_(*conditions))))


def _tag_ids(session: Session, org_id: int, names: list[str]) -> list[int]:
    if not names:
        return []
    return list(session.scalars(select(Tag.id).where(
        Tag.organization_id == org_id, Tag.name.in_(names))))


@dataclass
class _Picker:
    """The fixed parts of one agent's candidate queries in one operation."""

    operation_id: int
    zones: list[str]
    own_ids: list[int]
    avoid_tag_ids: list[int]
    prefer_tag_ids: list[int]
    lock: bool

    def query(self, zone: str, now: datetime, prefer: bool, tried: set[int], limit: int):
        t = Target.__table__
        stmt = select(t.c.id, t.c.contact_id, t.c.attempts, t.c.last_attempt_at).where(
            t.c.operation_id == self.operation_id, WAITING_SQL, t.c.time_zone == zone,
            t.c.next_eligible_at <= now)
        if self.own_ids:
            stmt = stmt.where(t.c.contact_id.not_in(self.own_ids))
        if tried:
            stmt = stmt.where(t.c.id.not_in(tried))
        if self.avoid_tag_ids:
            stmt = stmt.where(~exists().where(
                contact_tags.c.contact_id == t.c.contact_id,
                contact_tags.c.tag_id.in_(self.avoid_tag_ids)))
        if prefer:
            stmt = stmt.where(exists().where(
                contact_tags.c.contact_id == t.c.contact_id,
                contact_tags.c.tag_id.in_(self.prefer_tag_ids)))
        stmt = stmt.order_by(t.c.attempts, t.c.last_attempt_at, t.c.id).limit(limit)
        if self.lock:
            # Each caller takes rows no other transaction holds: no waiting, no double lease.
            stmt = stmt.with_for_update(skip_locked=True)
        return stmt


def _sort_key(row):
    return (row.attempts, row.last_attempt_at or datetime.min.replace(tzinfo=UTC), row.id)


def _put_aside(session: Session, target_id: int, verdict: Verdict) -> None:
    values = {"reason": verdict.reason}
    if verdict.state == TargetState.REMOVED:
        values["state"] = TargetState.REMOVED
    else:
        values["next_eligible_at"] = verdict.until
    session.execute(update(Target).where(Target.id == target_id).values(**values)
                    .execution_options(synchronize_session=False))


def _member(session: Session, operation: Operation, agent: User) -> OperationMember | None:
    return session.scalar(select(OperationMember).where(
        OperationMember.operation_id == operation.id, OperationMember.user_id == agent.id))


_last_sweep: dict[int, datetime] = {}


def _sweep_expired(session: Session, operation_id: int, now: datetime) -> None:
    last = _last_sweep.get(operation_id)
    if last is not None and last <= now < last + EXPIRE_EVERY:
        return
    _last_sweep[operation_id] = now
    expire_leases(session, now, operation_id=operation_id)


def _lease(session: Session, operation: Operation, agent: User, n: int, now: datetime,
           lease_minutes: int) -> list[Lease]:
    if n <= 0 or not operation_running(operation, now):
        return []
    rules: OperationRules = rules_for(operation)
    zones = zones_inside(operation.time_zones or [], now, rules)
    if not zones:
        return []
    begin_write(session)
    _sweep_expired(session, operation.id, now)
    member = _member(session, operation, agent)
    org = session.get(Organization, operation.organization_id)
    pg = is_postgresql(session)
    picker = _Picker(
        operation.id, zones, own_contact_ids(session, operation.organization_id, agent),
        _tag_ids(session, operation.organization_id, member.avoid_tags if member else []),
        _tag_ids(session, operation.organization_id, member.prefer_tags if member else []),
        lock=pg,
    )
    expires = now + timedelta(minutes=lease_minutes)
    chosen: list[tuple[int, int, int, Verdict]] = []
    tried: set[int] = set()
    checks = 0
    passes = [True, False] if picker.prefer_tag_ids else [False]
    for prefer in passes:
        while len(chosen) < n and checks < MAX_CHECKS_PER_CALL:
            want = n - len(chosen)
            # On SQLite we hold the write lock: read a few spare candidates per probe. On
            # PostgreSQL every row read is locked until commit: read only what we need.
            limit = want if pg else want + 4
            rows = []
            for zone in zones:
                rows.extend(session.execute(picker.query(zone, now, prefer, tried, limit)).all())
            if not rows:
                break
            rows.sort(key=_sort_key)
            for row in rows:
                if len(chosen) >= n or checks >= MAX_CHECKS_PER_CALL:
                    break
                tried.add(row.id)
                checks += 1
                verdict = check_candidate(session, row.id, row.contact_id, rules, org, now,
                                          lock_siblings=pg)
                if verdict.ok:
                    chosen.append((row.id, row.contact_id, row.attempts, verdict))
                elif not verdict.skip:
                    _put_aside(session, row.id, verdict)
        if len(chosen) >= n:
            break
    if not chosen:
        return []
    result = session.execute(
        update(Target)
        .where(Target.id.in_([c[0] for c in chosen]), Target.state == TargetState.WAITING)
        .values(state=TargetState.LEASED, leased_to_id=agent.id, leased_at=now,
                lease_expires_at=expires, reason=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != len(chosen):  # cannot happen under the locks above; refuse loudly
        raise RuntimeError("a target changed while it was being leased")
    return [Lease(target_id, operation.id, contact_id, verdict.phone_id, verdict.phone_e164,
                  expires, attempts)
            for target_id, contact_id, attempts, verdict in chosen]


def held_leases(session: Session, operation: Operation, agent: User,
                now: datetime | None = None) -> list[Lease]:
    """The agent's unexpired leases in this operation, oldest first (e.g. after a reload)."""
    now = _now(now)
    targets = session.scalars(select(Target).where(
        Target.operation_id == operation.id, Target.leased_to_id == agent.id,
        Target.state == TargetState.LEASED, Target.lease_expires_at > now,
    ).order_by(Target.leased_at, Target.id)).all()
    leases = []
    for target in targets:
        contact = session.get(Contact, target.contact_id) if target.contact_id else None
        phone = usable_phone(session, contact)[0] if contact else None
        if phone is None:
            continue
        leases.append(Lease(target.id, operation.id, contact.id, phone.id, phone.e164,
                            target.lease_expires_at, target.attempts))
    return leases


def lease_next(session: Session, operation: Operation, agent: User, now: datetime | None = None,
               lease_minutes: int = ONLINE_LEASE_MINUTES, max_open: int = 2) -> Lease | None:
    """Lease the next eligible target of `operation` to `agent`, or None if nobody is callable.

    An agent holds at most `max_open` online leases at once (the current card and the next
    one, prefetched): past that, the oldest held lease is returned again instead of a new one,
    so reloads and double taps cannot hoard people. The caller must commit promptly: until
    then the target's row lock (PostgreSQL) or the write lock (SQLite) is held.
    """
    now = _now(now)
    held = held_leases(session, operation, agent, now) if max_open else []
    if max_open and len(held) >= max_open:
        return held[0]
    leases = _lease(session, operation, agent, 1, now, lease_minutes)
    return leases[0] if leases else None


def lease_batch(session: Session, operation: Operation, agent: User, n: int,
                now: datetime | None = None,
                lease_minutes: int = OFFLINE_LEASE_MINUTES) -> list[Lease]:
    """Lease up to `n` (at most MAX_BATCH) targets for offline calling, in call order."""
    return _lease(session, operation, agent, min(n, MAX_BATCH), _now(now), lease_minutes)


def release_target(session: Session, target_id: int, agent: User, reason: str = "skip",
                   now: datetime | None = None) -> bool:
    """Give a leased target back. `skip` puts it aside for a few minutes (so the next card is
    someone else); any other reason (`return`, `logout`) puts it back in line at once.
    False if the agent does not hold that lease."""
    now = _now(now)
    begin_write(session)
    values = {"state": TargetState.WAITING, "leased_to_id": None, "leased_at": None,
              "lease_expires_at": None}
    if reason == "skip":
        values.update(next_eligible_at=now + SKIP_DELAY, reason="skipped")
    result = session.execute(
        update(Target).where(Target.id == target_id, Target.leased_to_id == agent.id,
                             Target.state == TargetState.LEASED)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def return_batch(session: Session, operation: Operation, agent: User,
                 target_ids: list[int] | None = None) -> int:
    """Give back the agent's leases in this operation (all, or those listed). Returns how many."""
    begin_write(session)
    stmt = update(Target).where(
        Target.operation_id == operation.id, Target.leased_to_id == agent.id,
        Target.state == TargetState.LEASED)
    if target_ids is not None:
        stmt = stmt.where(Target.id.in_(target_ids))
    result = session.execute(stmt.values(
        state=TargetState.WAITING, leased_to_id=None, leased_at=None, lease_expires_at=None,
    ).execution_options(synchronize_session=False))
    return result.rowcount


def renew_leases(session: Session, operation: Operation, agent: User,
                 now: datetime | None = None, lease_minutes: int = ONLINE_LEASE_MINUTES,
                 target_ids: list[int] | None = None) -> int:
    """Extend the agent's unexpired leases (all, or those listed) to `now + lease_minutes`."""
    now = _now(now)
    begin_write(session)
    stmt = update(Target).where(
        Target.operation_id == operation.id, Target.leased_to_id == agent.id,
        Target.state == TargetState.LEASED, Target.lease_expires_at > now)
    if target_ids is not None:
        stmt = stmt.where(Target.id.in_(target_ids))
    result = session.execute(stmt.values(
        lease_expires_at=now + timedelta(minutes=lease_minutes),
    ).execution_options(synchronize_session=False))
    return result.rowcount


def expire_leases(session: Session, now: datetime | None = None,
                  operation_id: int | None = None) -> int:
    """Put targets whose lease expired back in line, and bring back done targets whose
    reselect time came. Returns how many targets changed. Safe to run from a timer."""
    now = _now(now)
    begin_write(session)
    expired = update(Target).where(
        Target.state == TargetState.LEASED, Target.lease_expires_at <= now)
    reselect = update(Target).where(
        Target.state == TargetState.DONE, Target.reselect_at.is_not(None),
        Target.reselect_at <= now)
    if operation_id is not None:
        expired = expired.where(Target.operation_id == operation_id)
        reselect = reselect.where(Target.operation_id == operation_id)
    count = session.execute(expired.values(
        state=TargetState.WAITING, leased_to_id=None, leased_at=None, lease_expires_at=None,
    ).execution_options(synchronize_session=False)).rowcount
    count += session.execute(reselect.values(
        state=TargetState.WAITING, reselect_at=None, reason="reselected", retry_counts=None,
        next_eligible_at=now,
    ).execution_options(synchronize_session=False)).rowcount
    return count


def lease_is_valid(target: Target, agent_id: int | None, now: datetime) -> bool:
    """True if `agent_id` holds an unexpired lease on `target`."""
    return (target.state == TargetState.LEASED and target.leased_to_id == agent_id
            and target.lease_expires_at is not None and target.lease_expires_at > now)


__all__ = [
    "Lease", "QueueError", "expire_leases", "held_leases", "lease_batch", "lease_is_valid",
    "lease_next", "operation_running", "release_target", "renew_leases", "return_batch",
]
