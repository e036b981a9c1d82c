"""Choosing the next target and leasing it to an agent; releasing and expiring leases.

The order (ARCHITECTURE.md, "Rules the queue applies"): targets whose contact carries one of
the agent's prefer tags first, then fewest attempts, then longest since the last attempt.
One index probe per time zone that is inside the window right now (`ix_targets_ready`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ringround.models import (
    Contact,
    ContactPhone,
    LeaseGrant,
    Operation,
    OperationMember,
    OperationState,
    OptOut,
    Tag,
    Target,
    TargetState,
    User,
    contact_tags,
    utcnow,
)
from ringround.queue._raw import DriverStatement, as_text
from ringround.queue._sql import (
    RULE_COLUMNS,
    OperationView,
    _id_of,
    operation_columns,
    operation_join,
    prebuilt,
    rules_of,
)
from ringround.queue._tx import begin_write
from ringround.queue.checks import Verdict, check_candidate
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
# How far down the line an agent's prefer tags look for matching people, when many carry
# them (when few do, the query starts from those people instead).
PREFER_WINDOW = 300
# Expired leases of an operation are swept by lease calls at most this often.
EXPIRE_EVERY = timedelta(seconds=30)
# What a caller's card can show of the contact (`operation_fields.BUILTIN_FIELDS` and the
# custom fields), read with each candidate: the card of a new lease needs no query of its own.
CARD_CONTACT_COLUMNS = ("first_name", "last_name", "language", "city", "postcode", "street",
                        "country", "email", "date_of_birth", "time_zone", "source", "custom")

ONE, ZERO = literal_column("1"), literal_column("0")
# Literals, so the partial indexes apply (ix_targets_ready, ix_targets_leased).
WAITING_SQL = text("targets.state = 'waiting'")
LEASED_SQL = text("targets.state = 'leased'")


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


def _card_contact(row, phone_id: int | None) -> SimpleNamespace | None:
    """The card columns a candidate row carries, if the number leased is the one it read."""
    if phone_id != row.phone_id:
        return None
    return SimpleNamespace(id=row.contact_id, extension=row.card_extension,
                           **{name: getattr(row, f"card_{name}") for name in CARD_CONTACT_COLUMNS})


class QueueError(ValueError):
    """A request the queue refuses (unknown target, wrong operation, not the agent's)."""


@dataclass(frozen=True)
class SeeingLimits:
    """How many people one agent may be shown in one operation, per minute and per hour
    (skips included: every lease granted counts). The caller app passes them from the
    settings; server-driven calling (call-in) passes none."""

    per_minute: int
    per_hour: int


class LimitReachedError(QueueError):
    """The agent saw as many people as the limits allow; more in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many people shown; more in {retry_after} s")
        self.retry_after = retry_after


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


def _tag_ids(session: Session, org_id: int, names: list[str]) -> list[int]:
    if not names:
        return []
    t = Tag.__table__
    stmt = prebuilt("tag_ids", lambda: select(t.c.id).where(
        t.c.organization_id == bindparam("org_id"),
        t.c.name.in_(bindparam("names", expanding=True))))
    return list(session.scalars(stmt, {"org_id": org_id, "names": list(names)}))


def _zone_probe(k: int, prefer: str | None, lock: bool, filtered: bool = True,
                one: bool = False):
    """One zone's probe: the best waiting, eligible targets there, with what the checks need
    (the contact's flags and user, its first OK number, how many other operations hold the
    person). Zone parameter `z{k}`. Unfiltered, it leaves out the targets already tried and
    the agent's avoid tags (the usual first look, with neither). With `one`, the limit is
    a literal 1: PostgreSQL then settles on one generic plan for the prepared statement
    instead of planning it again at every lease (most of its cost)."""
    t = Target.__table__
    c = Contact.__table__
    p = ContactPhone.__table__
    s = t.alias("s")
    # Literal limits: fewer parameters to convert and bind at every lease.
    first_phone = (select(p.c.id).where(p.c.contact_id == t.c.contact_id,
                                        p.c.status == literal_column("'ok'"))
                   .order_by(p.c.position, p.c.id).limit(ONE).offset(ZERO))
    siblings = select(func.count()).where(s.c.contact_id == t.c.contact_id,
                                          s.c.id != t.c.id).scalar_subquery()
    stmt = select(
        t.c.id, t.c.contact_id, t.c.attempts, t.c.last_attempt_at, c.c.do_not_contact,
        first_phone.scalar_subquery().label("phone_id"),
        first_phone.with_only_columns(p.c.e164).scalar_subquery().label("phone_e164"),
        c.c.user_id, siblings.label("siblings"),
        *[c.c[name].label(f"card_{name}") for name in CARD_CONTACT_COLUMNS],
        first_phone.with_only_columns(p.c.extension).scalar_subquery().label("card_extension"),
    ).join(c, c.c.id == t.c.contact_id).where(
        t.c.operation_id == bindparam("operation_id"), WAITING_SQL,
        t.c.time_zone == bindparam(f"z{k}"), t.c.next_eligible_at <= bindparam("now"),
    )
    if filtered:
        stmt = stmt.where(
            t.c.id.not_in(bindparam("tried", expanding=True)),
            ~exists().where(contact_tags.c.contact_id == t.c.contact_id,
                            contact_tags.c.tag_id.in_(bindparam("avoid", expanding=True))))
    if prefer == "driven":
        # Few people carry the tags: start from them (one index probe each).
        stmt = stmt.where(t.c.contact_id.in_(select(contact_tags.c.contact_id).where(
            contact_tags.c.tag_id.in_(bindparam("prefer", expanding=True)))))
    elif prefer == "window":
        # Many carry them: look among the next PREFER_WINDOW in line only. Looking further
        # would walk the whole line whenever nobody tagged is left, at every lease.
        w = t.alias("w")
        window = select(w.c.id, w.c.contact_id).where(
            w.c.operation_id == bindparam("operation_id"), w.c.state == literal_column(
                "'waiting'"), w.c.time_zone == bindparam(f"z{k}"),
            w.c.next_eligible_at <= bindparam("now"),
            w.c.id.not_in(bindparam("tried", expanding=True)),
        ).order_by(w.c.attempts, w.c.last_attempt_at, w.c.id).limit(PREFER_WINDOW).subquery()
        tagged = select(window.c.id).where(exists().where(
            contact_tags.c.contact_id == window.c.contact_id,
            contact_tags.c.tag_id.in_(bindparam("prefer", expanding=True))))
        stmt = stmt.where(t.c.id.in_(tagged))
    stmt = stmt.order_by(t.c.attempts, t.c.last_attempt_at, t.c.id).limit(
        ONE if one else bindparam("lim")).offset(ZERO)
    if lock:
        # Each caller takes rows no other transaction holds: no waiting, no double lease.
        stmt = stmt.with_for_update(of=t, skip_locked=True)
    return stmt


def _candidates_statement(n_zones: int, prefer: str | None, lock: bool,
                          filtered: bool = True, one: bool = False):
    """Built once per shape and reused (see ringround.queue._sql). The unfiltered shape has
    no list parameters, so it runs on the driver directly (ringround.queue._raw)."""

    def build():
        probes = [_zone_probe(k, prefer, lock, filtered, one) for k in range(n_zones)]
        # Several zones: one round trip, each zone's probe a branch of a UNION ALL.
        return probes[0] if n_zones == 1 else union_all(*[select(q.subquery()) for q in probes])

    if filtered:
        return prebuilt(("candidates", n_zones, prefer, lock), build)
    return prebuilt(("candidates_raw", n_zones, lock, one), lambda: DriverStatement(build))


@dataclass
class _Picker:
    """The fixed parts of one agent's candidate queries in one operation."""

    operation_id: int
    zones: list[str]
    agent_id: int
    own_contact_id: int | None
    avoid_tag_ids: list[int]
    prefer_tag_ids: list[int]
    lock: bool
    connection: Connection

    def candidates(self, session: Session, now: datetime, prefer: str | None,
                   tried: set[int], limit: int) -> list:
        """The best `limit` candidates of each zone inside the window, in call order."""
        params = {"operation_id": self.operation_id, "now": now, "lim": limit}
        params.update({f"z{k}": zone for k, zone in enumerate(self.zones)})
        if prefer is None and not tried and not self.avoid_tag_ids:
            stmt = _candidates_statement(len(self.zones), None, self.lock, filtered=False,
                                         one=limit == 1)
            rows = stmt.rows(self.connection, params)
        else:
            params.update(tried=list(tried), avoid=self.avoid_tag_ids,
                          prefer=self.prefer_tag_ids)
            stmt = _candidates_statement(len(self.zones), prefer, self.lock)
            rows = session.execute(stmt, params).all()
        rows.sort(key=_sort_key)
        return rows


_tag_counts: dict[tuple, tuple[float, int]] = {}


def _tagged_count(session: Session, tag_ids: list[int]) -> int:
    """How many contacts carry any of these tags (cached a minute: it only picks a plan)."""
    key = (str(session.get_bind().url), *sorted(tag_ids))
    cached = _tag_counts.get(key)
    if cached is not None and time.monotonic() - cached[0] < 60:
        return cached[1]
    count = session.scalar(select(func.count()).select_from(
        select(contact_tags.c.contact_id).where(contact_tags.c.tag_id.in_(key[1:]))
        .limit(PREFER_WINDOW + 1).subquery())) or 0
    _tag_counts[key] = (time.monotonic(), count)
    return count


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


def _agent_statement():
    t = Target.__table__
    m = OperationMember.__table__
    u = User.__table__
    held = select(func.count()).where(
        t.c.leased_to_id == u.c.id, t.c.operation_id == Operation.__table__.c.id,
        t.c.state == literal_column("'leased'"),
        t.c.lease_expires_at > bindparam("now", type_=t.c.lease_expires_at.type),
    ).scalar_subquery()
    p = ContactPhone.__table__
    # A number belongs to one contact per organization: the agent's own record, if any.
    own = select(p.c.contact_id).where(
        p.c.organization_id == Operation.__table__.c.organization_id,
        p.c.e164 == u.c.phone_e164,
    ).scalar_subquery()
    o = Operation.__table__
    g = LeaseGrant.__table__

    def seen(since: str, cap: str):
        """People shown to the agent here since `since`: at most `cap` index entries read
        (the limit plus one is all a check needs; no limit, none read)."""
        shown = select(g.c.id).where(
            g.c.operation_id == bindparam("operation_id"), g.c.agent_id == bindparam("agent_id"),
            g.c.granted_at > bindparam(since, type_=g.c.granted_at.type),
        ).limit(bindparam(cap, type_=g.c.id.type)).subquery()
        return select(func.count()).select_from(shown).scalar_subquery()

    # One round trip: the operation (with its organization's gap) and the agent in it.
    return select(
        *operation_columns("op_", rules_as_text=True), u.c.id.label("agent_id"), u.c.phone_e164,
        as_text(m.c.prefer_tags, "prefer_tags"), as_text(m.c.avoid_tags, "avoid_tags"),
        held.label("held"), own.label("own_contact_id"),
        seen("minute_ago", "minute_cap").label("seen_minute"),
        seen("hour_ago", "hour_cap").label("seen_hour"),
    ).select_from(operation_join().outerjoin(u, u.c.id == bindparam("agent_id")).outerjoin(
        m, (m.c.user_id == u.c.id) & (m.c.operation_id == o.c.id)),
    ).where(o.c.id == bindparam("operation_id"))


def _operation_and_agent(connection: Connection, operation_id: int, agent_id: int,
                         now: datetime, limits: SeeingLimits | None = None):
    """The operation's row and, beside it, the agent's phone, prefer/avoid tags there, how
    many unexpired leases they hold, the contact that has their number, and (with `limits`)
    how many people they were shown here in the last minute and hour."""
    shared = frozenset({"prefer_tags", "avoid_tags", *(f"op_{c}" for c in RULE_COLUMNS)})
    return prebuilt("operation_agent", lambda: DriverStatement(_agent_statement, shared)).first(
        connection, {"operation_id": operation_id, "agent_id": agent_id, "now": now,
                     "minute_ago": now - timedelta(minutes=1),
                     "hour_ago": now - timedelta(hours=1),
                     "minute_cap": limits.per_minute + 1 if limits else 0,
                     "hour_cap": limits.per_hour + 1 if limits else 0})


def _retry_after(session: Session, operation_id: int, agent_id: int, limits: SeeingLimits,
                 now: datetime) -> int:
    """Seconds until the agent may be shown someone again (only asked once refused)."""
    g = LeaseGrant.__table__
    times = list(session.scalars(select(g.c.granted_at).where(
        g.c.operation_id == operation_id, g.c.agent_id == agent_id,
        g.c.granted_at > now - timedelta(hours=1)).order_by(g.c.granted_at.desc())))
    wait = timedelta(0)
    for window, allowed in ((timedelta(minutes=1), limits.per_minute),
                            (timedelta(hours=1), limits.per_hour)):
        recent = [moment for moment in times if moment > now - window]
        if len(recent) >= allowed:
            # The window lets one more in when the grant `allowed` places back leaves it.
            wait = max(wait, recent[allowed - 1] + window - now)
    return max(1, int(wait.total_seconds() + 0.999))


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
    agent_id = _id_of(agent)
    connection = session.connection()
    who = _operation_and_agent(connection, _id_of(operation), agent_id, now, limits)
    if who is None:
        raise QueueError("unknown operation")
    if who.agent_id is None:
        raise QueueError("unknown agent")
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
    if limits is not None:
        n = min(n, limits.per_minute - who.seen_minute, limits.per_hour - who.seen_hour)
        if n <= 0:
            raise LimitReachedError(_retry_after(session, op.id, agent_id, limits, now))
    org_id = op.organization_id
    pg = connection.dialect.name == "postgresql"
    picker = _Picker(op.id, zones, agent_id, who.own_contact_id,
                     _tag_ids(session, org_id, who.avoid_tags or []),
                     _tag_ids(session, org_id, who.prefer_tags or []), lock=pg,
                     connection=connection)
    expires = now + timedelta(minutes=lease_minutes)
    chosen: list[tuple[int, int, int, Verdict]] = []
    tried: set[int] = set()
    checks = 0
    passes = [None]
    if picker.prefer_tag_ids:
        few = _tagged_count(session, picker.prefer_tag_ids) <= PREFER_WINDOW
        passes = ["driven" if few else "window", None]
    for prefer_pass in passes:
        while len(chosen) < n and checks < MAX_CHECKS_PER_CALL:
            # Only as many per zone as still wanted: on PostgreSQL every row read is locked
            # until commit. A candidate that fails its checks is put aside; read again.
            rows = picker.candidates(session, now, prefer_pass, tried, n - len(chosen))
            if not rows:
                break
            for row in rows:
                if len(chosen) >= n or checks >= MAX_CHECKS_PER_CALL:
                    break
                tried.add(row.id)
                checks += 1
                if row.user_id == agent_id or row.contact_id == who.own_contact_id:
                    continue  # the agent's own record: someone else will call it
                verdict = check_candidate(session, row, rules, org_id, now, lock_siblings=pg,
                                          call_gap_minutes=op.call_gap_minutes,
                                          defer_optout=n == 1)
                if verdict.ok and verdict.deferred_digest is not None:
                    # The usual case, one statement: lease unless the number opted out.
                    if _lease_one(connection, row.id, org_id, verdict.deferred_digest,
                                  agent_id, now, expires):
                        _grant_one(connection, op.id, row.id, agent_id, now, expires)
                        return [Lease(row.id, op.id, row.contact_id, verdict.phone_id,
                                      verdict.phone_e164, expires, row.attempts,
                                      _card_contact(row, verdict.phone_id))]
                    verdict = check_candidate(session, row, rules, org_id, now,
                                              lock_siblings=pg,
                                              call_gap_minutes=op.call_gap_minutes)
                if verdict.ok:
                    chosen.append((row.id, row.contact_id, row.attempts, verdict))
                elif not verdict.skip:
                    _put_aside(session, row.id, verdict)
        if len(chosen) >= n:
            break
    if not chosen:
        return []
    result = session.execute(prebuilt("lease", _lease_statement), {
        "ids": [c[0] for c in chosen], "agent_id": agent_id, "now": now, "expires": expires})
    if result.rowcount != len(chosen):  # cannot happen under the locks above; refuse loudly
        raise RuntimeError("a target changed while it was being leased")
    session.execute(prebuilt("grant_many", _grant_many_statement), {
        "ids": [c[0] for c in chosen], "agent_id": agent_id, "now": now, "expires": expires})
    return [Lease(target_id, op.id, contact_id, verdict.phone_id, verdict.phone_e164,
                  expires, attempts)
            for target_id, contact_id, attempts, verdict in chosen]


def _lease_one_statement():
    t = Target.__table__
    o = OptOut.__table__
    return update(t).where(
        t.c.id == bindparam("target_id"), WAITING_SQL,
        ~exists().where(o.c.organization_id == bindparam("org_id"),
                        o.c.phone_hmac == bindparam("digest")),
    ).values(
        state=literal_column("'leased'"), leased_to_id=bindparam("agent_id"),
        leased_at=bindparam("now", type_=t.c.leased_at.type),
        lease_expires_at=bindparam("expires", type_=t.c.lease_expires_at.type), reason=None)


def _lease_one(connection: Connection, target_id: int, org_id: int, digest: str,
               agent_id: int, now: datetime, expires: datetime) -> bool:
    """Lease one checked target unless its number is in the opt-outs (then False)."""
    return prebuilt("lease_one", lambda: DriverStatement(_lease_one_statement)).run(
        connection, {
            "target_id": target_id, "org_id": org_id, "digest": digest, "agent_id": agent_id,
            "now": now, "expires": expires}) == 1


def _grant_one_statement():
    g = LeaseGrant.__table__
    return insert(g).values(
        operation_id=bindparam("operation_id"), target_id=bindparam("target_id"),
        agent_id=bindparam("agent_id"), granted_at=bindparam("now", type_=g.c.granted_at.type),
        expires_at=bindparam("expires", type_=g.c.expires_at.type))


def _grant_one(connection: Connection, operation_id: int, target_id: int, agent_id: int,
               now: datetime, expires: datetime) -> None:
    """Remember the lease just granted (the limits count these; proofs check them)."""
    prebuilt("grant_one", lambda: DriverStatement(_grant_one_statement)).run(connection, {
        "operation_id": operation_id, "target_id": target_id, "agent_id": agent_id,
        "now": now, "expires": expires})


def _grant_many_statement():
    t, g = Target.__table__, LeaseGrant.__table__
    return insert(g).from_select(
        ["operation_id", "target_id", "agent_id", "granted_at", "expires_at"],
        select(t.c.operation_id, t.c.id, bindparam("agent_id", type_=g.c.agent_id.type),
               bindparam("now", type_=g.c.granted_at.type),
               bindparam("expires", type_=g.c.expires_at.type))
        .where(t.c.id.in_(bindparam("ids", expanding=True))))


def _end_grants(session: Session, agent_id: int, how: str, now: datetime,
                operation_id: int | None = None, target_ids: list[int] | None = None) -> None:
    """The agent gave these people back: their leases' proofs no longer hold."""
    g = LeaseGrant.__table__
    stmt = update(g).where(g.c.agent_id == agent_id, g.c.ended_at.is_(None),
                           g.c.expires_at > now)
    if operation_id is not None:
        stmt = stmt.where(g.c.operation_id == operation_id)
    if target_ids is not None:
        stmt = stmt.where(g.c.target_id.in_(target_ids))
    session.execute(stmt.values(ended_at=now, ended_by=how))


def _lease_statement():
    t = Target.__table__
    return update(t).where(t.c.id.in_(bindparam("ids", expanding=True)), WAITING_SQL).values(
        state=literal_column("'leased'"), leased_to_id=bindparam("agent_id"),
        leased_at=bindparam("now", type_=t.c.leased_at.type),
        lease_expires_at=bindparam("expires", type_=t.c.lease_expires_at.type), reason=None)


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
    the agent was shown as many people as they allow. The caller must commit promptly: until
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
        update(Target).where(Target.id == target_id, Target.leased_to_id == _id_of(agent),
                             Target.state == TargetState.LEASED)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    _end_grants(session, _id_of(agent), reason, now, target_ids=[target_id])
    return True


def return_batch(session: Session, operation: Operation, agent: User,
                 target_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Give back the agent's leases in this operation (all, or those listed). Returns how many.
    Results for them are refused from now on (their proofs no longer hold)."""
    now = _now(now)
    begin_write(session)
    _end_grants(session, _id_of(agent), "return", now, operation_id=_id_of(operation),
                target_ids=target_ids)
    stmt = update(Target).where(
        Target.operation_id == _id_of(operation), Target.leased_to_id == _id_of(agent),
        LEASED_SQL)
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
        Target.operation_id == _id_of(operation), Target.leased_to_id == _id_of(agent),
        LEASED_SQL, Target.lease_expires_at > now)
    if target_ids is not None:
        stmt = stmt.where(Target.id.in_(target_ids))
    result = session.execute(stmt.values(
        lease_expires_at=now + timedelta(minutes=lease_minutes),
    ).execution_options(synchronize_session=False))
    g = LeaseGrant.__table__
    grants = update(g).where(g.c.operation_id == _id_of(operation),
                             g.c.agent_id == _id_of(agent), g.c.ended_at.is_(None),
                             g.c.expires_at > now)
    if target_ids is not None:
        grants = grants.where(g.c.target_id.in_(target_ids))
    session.execute(grants.values(expires_at=now + timedelta(minutes=lease_minutes)))
    return result.rowcount


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
    "lease_next", "operation_running", "release_target", "renew_leases", "return_batch",
]
