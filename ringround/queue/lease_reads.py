"""What a lease reads before choosing: the operation and the agent in it, in one round trip.

Beside the operation's columns (and its organization's call gap): the agent's phone and
prefer/avoid tags there, how many unexpired leases they hold, the contact that has their
number, and how many people they were shown lately (the seeing limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ringround.models import ContactPhone, LeaseGrant, Operation, OperationMember, Target, User
from ringround.queue._raw import as_text
from ringround.queue._sql import RULE_COLUMNS, operation_columns, operation_join
from ringround.queue.statements import runnable


@dataclass(frozen=True)
class SeeingLimits:
    """How many people one agent may be shown in one operation, per minute and per hour
    (skips included: every lease granted counts). The caller app passes them from the
    settings; server-driven calling (call-in) passes none."""

    per_minute: int
    per_hour: int


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


def operation_and_agent(connection: Connection, operation_id: int, agent_id: int,
                         now: datetime, limits: SeeingLimits | None = None):
    """The operation's row and, beside it, the agent's phone, prefer/avoid tags there, how
    many unexpired leases they hold, the contact that has their number, and (with `limits`)
    how many people they were shown here in the last minute and hour."""
    shared = frozenset({"prefer_tags", "avoid_tags", *(f"op_{c}" for c in RULE_COLUMNS)})
    return runnable("operation_agent", _agent_statement, shared).first(
        connection, {"operation_id": operation_id, "agent_id": agent_id, "now": now,
                     "minute_ago": now - timedelta(minutes=1),
                     "hour_ago": now - timedelta(hours=1),
                     "minute_cap": limits.per_minute + 1 if limits else 0,
                     "hour_cap": limits.per_hour + 1 if limits else 0})


def retry_after(session: Session, operation_id: int, agent_id: int, limits: SeeingLimits,
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


