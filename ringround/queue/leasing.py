"""Leasing: choosing the next targets for an agent and leasing them; held and expired leases.

A lease reads the operation and the agent in one round trip (`lease_reads`), sweeps expired
leases, then reads candidates in call order (`candidates`), checks each (`checks`), and
leases the first that pass (`lease_writes`). Giving leases back is in `releases`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    bindparam,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ringround.models import (
    ContactPhone,
    Operation,
    OperationState,
    Target,
    TargetState,
    User,
    utcnow,
)
from ringround.operation_rules import OperationRules
from ringround.queue._sql import (
    LEASED_SQL,
    WAITING_SQL,
    OperationView,
    _id_of,
    rules_of,
)
from ringround.queue._tx import begin_write
from ringround.queue.candidates import Picker, card_contact, prefer_passes, tag_ids
from ringround.queue.checks import Verdict, check_candidate
from ringround.queue.errors import LimitReachedError, QueueError
from ringround.queue.lease_reads import SeeingLimits, operation_and_agent, retry_after
from ringround.queue.lease_writes import lease_and_grant, lease_many
from ringround.queue.statements import prebuilt
from ringround.queue.windows import zones_inside

# An online lease covers one call and the time to record it; if the caller vanishes (closed
# tab, dead battery), the person goes back in line after this long.
ONLINE_LEASE_MINUTES = 20
# An offline batch is taken before a shift without network (a bus, a basement): it must
# outlast the shift, but not the day, so what is never called returns to the queue overnight.
OFFLINE_LEASE_MINUTES = 12 * 60
MAX_BATCH = 50
# Looking at more candidates than this in one call means the line is full of targets that
# fail the per-person checks; give up for now rather than hold the write lock for long.
MAX_CHECKS_PER_CALL = 64
# Expired leases of an operation are swept by lease calls at most this often.
EXPIRE_EVERY = timedelta(seconds=30)


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
    # The contact's card columns (CARD_CONTACT_COLUMNS) and the number's extension, as the
    # lease read them; None when it did not (held leases, batches).
    contact: Any = None


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the queue")
    return now.astimezone(UTC)


def operation_running(operation, now: datetime) -> bool:
    """Active, and within its start and end dates."""
    if operation.state != OperationState.ACTIVE:
        return False
    if operation.starts_at is not None and now < operation.starts_at:
        return False
    return not (operation.ends_at is not None and now >= operation.ends_at)


def _waiting_zones(session: Session, operation_id: int) -> list[str]:
    t = Target.__table__
    return list(session.scalars(select(t.c.time_zone).where(
        t.c.operation_id == operation_id, WAITING_SQL).distinct()))



def _put_aside(session: Session, target_id: int, verdict: Verdict) -> None:
    values = {"reason": verdict.reason}
    if verdict.state == TargetState.REMOVED:
        values["state"] = TargetState.REMOVED
    else:
        values["next_eligible_at"] = verdict.until
    session.execute(update(Target).where(Target.id == target_id).values(**values)
                    .execution_options(synchronize_session=False))


# When each operation was last swept, per database (engine).
_last_sweep: WeakKeyDictionary[Engine, dict[int, datetime]] = WeakKeyDictionary()


def _sweep_expired(session: Session, connection: Connection, operation_id: int,
                   now: datetime) -> None:
    swept = _last_sweep.get(connection.engine)
    if swept is None:
        swept = _last_sweep.setdefault(connection.engine, {})
    last = swept.get(operation_id)
    if last is not None and last <= now < last + EXPIRE_EVERY:
        return
    swept[operation_id] = now
    expire_leases(session, now, operation_id=operation_id)


def _lease(session: Session, operation, agent, n: int, now: datetime,
           lease_minutes: int, max_open: int | None = None,
           limits: SeeingLimits | None = None) -> list[Lease]:
    """Lease up to `n` targets to the agent (see `lease_next` and `lease_batch`)."""
    agent_id = _id_of(agent)
    connection = session.connection()
    who = operation_and_agent(connection, _id_of(operation), agent_id, now, limits)
    if who is None:
        raise QueueError("unknown_operation")
    if who.agent_id is None:
        raise QueueError("unknown_agent")
    op = OperationView(who, "op_")
    if n <= 0 or not operation_running(op, now):
        return []
    rules, _codes = rules_of(op)
    # `materialize_targets` keeps the operation's zones; targets added some other way are
    # found by a (slower) look at the waiting targets themselves.
    zones = zones_inside(op.time_zones or _waiting_zones(session, op.id), now, rules)
    if not zones:
        return []
    begin_write(session, connection)
    _sweep_expired(session, connection, op.id, now)
    if max_open is not None and who.held >= max_open:
        held = held_leases(session, op.id, agent_id, now)
        if held:
            return held[:1]
    n = _within_limits(session, op.id, who, n, limits, now)
    expires = now + timedelta(minutes=lease_minutes)
    return _Choice(session, connection, op, rules, who, zones, n, now, expires).lease()


def _within_limits(session: Session, operation_id: int, who, n: int,
                   limits: SeeingLimits | None, now: datetime) -> int:
    """How many of `n` the agent may still be shown (LimitReachedError when none)."""
    if limits is None:
        return n
    n = min(n, limits.per_minute - who.seen_minute, limits.per_hour - who.seen_hour)
    if n <= 0:
        raise LimitReachedError(retry_after(session, operation_id, who.agent_id, limits, now))
    return n


class _Choice:
    """One lease call's search: candidates read in call order, checked, then chosen or put
    aside, until `n` are chosen or MAX_CHECKS_PER_CALL were looked at."""

    def __init__(self, session: Session, connection: Connection, op: OperationView,
                 rules: OperationRules, who, zones: list[str], n: int, now: datetime,
                 expires: datetime):
        self.session, self.connection, self.op, self.rules = session, connection, op, rules
        self.agent_id, self.own_contact_id = who.agent_id, who.own_contact_id
        self.n, self.now, self.expires = n, now, expires
        self.pg = connection.dialect.name == "postgresql"
        org_id = op.organization_id
        self.picker = Picker(op.id, zones, self.agent_id, who.own_contact_id,
                             tag_ids(session, org_id, who.avoid_tags or []),
                             tag_ids(session, org_id, who.prefer_tags or []), lock=self.pg,
                             connection=connection)
        self.chosen: list[tuple[int, int, int, Verdict]] = []
        self.tried: set[int] = set()
        self.checks = 0

    def lease(self) -> list[Lease]:
        for prefer_pass in prefer_passes(self.session, self.picker.prefer_tag_ids):
            leased = self._search(prefer_pass)
            if leased is not None:
                return [leased]
            if len(self.chosen) >= self.n:
                break
        if not self.chosen:
            return []
        lease_many(self.session, [c[0] for c in self.chosen], self.agent_id, self.now,
                   self.expires)
        return [Lease(target_id, self.op.id, contact_id, verdict.phone_id, verdict.phone_e164,
                      self.expires, attempts)
                for target_id, contact_id, attempts, verdict in self.chosen]

    def _wanted(self) -> bool:
        return len(self.chosen) < self.n and self.checks < MAX_CHECKS_PER_CALL

    def _search(self, prefer_pass: str | None) -> Lease | None:
        """Read and check candidates; the Lease when one was leased at once (n == 1)."""
        while self._wanted():
            # Only as many per zone as still wanted: on PostgreSQL every row read is locked
            # until commit. A candidate that fails its checks is put aside; read again.
            rows = self.picker.candidates(self.session, self.now, prefer_pass, self.tried,
                                          self.n - len(self.chosen))
            if not rows:
                break
            for row in rows:
                if not self._wanted():
                    break
                leased = self._consider(row)
                if leased is not None:
                    return leased
        return None

    def _check(self, row, defer_optout: bool) -> Verdict:
        return check_candidate(self.session, row, self.rules, self.op.organization_id,
                               self.now, lock_siblings=self.pg,
                               call_gap_minutes=self.op.call_gap_minutes,
                               defer_optout=defer_optout)

    def _consider(self, row) -> Lease | None:
        self.tried.add(row.id)
        self.checks += 1
        if row.user_id == self.agent_id or row.contact_id == self.own_contact_id:
            return None  # the agent's own record: someone else will call it
        verdict = self._check(row, defer_optout=self.n == 1)
        if verdict.ok and verdict.deferred_digest is not None:
            # The usual case, one statement: lease unless the number opted out.
            if lease_and_grant(self.connection, self.op.id, row.id, self.op.organization_id,
                               verdict.deferred_digest, self.agent_id, self.now,
                               self.expires):
                return Lease(row.id, self.op.id, row.contact_id, verdict.phone_id,
                             verdict.phone_e164, self.expires, row.attempts,
                             card_contact(row, verdict.phone_id))
            verdict = self._check(row, defer_optout=False)
        if verdict.ok:
            self.chosen.append((row.id, row.contact_id, row.attempts, verdict))
        elif not verdict.skip:
            _put_aside(self.session, row.id, verdict)
        return None


def _held_statement():
    t = Target.__table__
    p = ContactPhone.__table__
    first_phone = (select(p.c.id).where(p.c.contact_id == t.c.contact_id,
                                        p.c.status == literal_column("'ok'"))
                   .order_by(p.c.position, p.c.id).limit(1))
    return select(
        t.c.id, t.c.contact_id, t.c.lease_expires_at, t.c.attempts,
        first_phone.scalar_subquery().label("phone_id"),
        first_phone.with_only_columns(p.c.e164).scalar_subquery().label("phone_e164"),
    ).where(
        t.c.leased_to_id == bindparam("agent_id"), t.c.operation_id == bindparam("operation_id"),
        t.c.state == literal_column("'leased'"),
        t.c.lease_expires_at > bindparam("now", type_=t.c.lease_expires_at.type),
    ).order_by(t.c.leased_at, t.c.id)


def held_leases(session: Session, operation: Operation | int, agent: User | int,
                now: datetime | None = None) -> list[Lease]:
    """The agent's unexpired leases in this operation, oldest first (e.g. after a reload)."""
    rows = session.execute(prebuilt("held", _held_statement), {
        "operation_id": _id_of(operation), "agent_id": _id_of(agent), "now": _now(now)})
    return [Lease(row.id, _id_of(operation), row.contact_id, row.phone_id, row.phone_e164,
                  row.lease_expires_at, row.attempts)
            for row in rows if row.phone_id is not None and row.contact_id is not None]


def lease_next(session: Session, operation: Operation, agent: User, now: datetime | None = None,
               lease_minutes: int = ONLINE_LEASE_MINUTES, max_open: int = 2,
               limits: SeeingLimits | None = None) -> Lease | None:
    """Lease the next eligible target of `operation` to `agent`, or None if nobody is callable.

    An agent holds at most `max_open` online leases at once (the current card and the next
    one, prefetched): past that, the oldest held lease is returned again instead of a new one,
    so reloads and double taps cannot hoard people. With `limits`, raises LimitReachedError when
    the agent was shown as many people as they allow, before the lease writes anything (the
    caller may commit what came before it). The caller must commit promptly: until
    then the target's row lock (PostgreSQL) or the write lock (SQLite) is held.
    """
    leases = _lease(session, operation, agent, 1, _now(now), lease_minutes,
                    max_open=max_open or None, limits=limits)
    return leases[0] if leases else None


def lease_batch(session: Session, operation: Operation, agent: User, n: int,
                now: datetime | None = None, lease_minutes: int = OFFLINE_LEASE_MINUTES,
                limits: SeeingLimits | None = None) -> list[Lease]:
    """Lease up to `n` (at most MAX_BATCH) targets for offline calling, in call order; with
    `limits`, only as many as they still allow (LimitReachedError when none)."""
    return _lease(session, operation, agent, min(n, MAX_BATCH), _now(now), lease_minutes,
                  limits=limits)



def expire_leases(session: Session, now: datetime | None = None,
                  operation_id: int | None = None) -> int:
    """Put targets whose lease expired back in line, and bring back done targets whose
    reselect time came. Returns how many targets changed. Safe to run from a timer."""
    now = _now(now)
    begin_write(session)
    expired = update(Target).where(LEASED_SQL, Target.lease_expires_at <= now)
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
    "Lease", "LimitReachedError", "QueueError", "SeeingLimits", "expire_leases", "held_leases",
    "lease_batch", "lease_is_valid",
    "lease_next", "operation_running",
]
