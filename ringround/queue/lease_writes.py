"""The statements that grant leases: one checked target, or a batch, and their grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, exists, insert, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ringround.models import LeaseGrant, OptOut, Target
from ringround.queue._sql import WAITING_SQL
from ringround.queue.statements import prebuilt, runnable


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


def lease_one(connection: Connection, target_id: int, org_id: int, digest: str,
               agent_id: int, now: datetime, expires: datetime) -> bool:
    """Lease one checked target unless its number is in the opt-outs (then False)."""
    return runnable("lease_one", _lease_one_statement).run(
        connection, {
            "target_id": target_id, "org_id": org_id, "digest": digest, "agent_id": agent_id,
            "now": now, "expires": expires}) == 1


def _grant_one_statement():
    g = LeaseGrant.__table__
    return insert(g).values(
        operation_id=bindparam("operation_id"), target_id=bindparam("target_id"),
        agent_id=bindparam("agent_id"), granted_at=bindparam("now", type_=g.c.granted_at.type),
        expires_at=bindparam("expires", type_=g.c.expires_at.type))


def grant_one(connection: Connection, operation_id: int, target_id: int, agent_id: int,
               now: datetime, expires: datetime) -> None:
    """Remember the lease just granted (the limits count these; proofs check them)."""
    runnable("grant_one", _grant_one_statement).run(connection, {
        "operation_id": operation_id, "target_id": target_id, "agent_id": agent_id,
        "now": now, "expires": expires})


def _lease_and_grant_statement():
    """PostgreSQL: `lease_one`'s UPDATE and `grant_one`'s INSERT in one statement, one round
    trip; the grant is inserted only if the UPDATE leased the target, and returned (read
    rather than the row count, which SQLAlchemy's cursor gave as -1). No parameter is named
    as a column of `targets`: through SQLAlchemy, such a parameter given at execution is
    added to the UPDATE's SET (`operation_id` was)."""
    g = LeaseGrant.__table__
    leased = _lease_one_statement().returning(Target.__table__.c.id).cte("leased")
    return insert(g).from_select(
        ["operation_id", "target_id", "agent_id", "granted_at", "expires_at"],
        select(bindparam("grant_operation_id", type_=g.c.operation_id.type), leased.c.id,
               bindparam("agent_id", type_=g.c.agent_id.type),
               bindparam("now", type_=g.c.granted_at.type),
               bindparam("expires", type_=g.c.expires_at.type))
    ).returning(g.c.target_id)


def lease_and_grant(connection: Connection, operation_id: int, target_id: int, org_id: int,
                    digest: str, agent_id: int, now: datetime, expires: datetime) -> bool:
    """`lease_one`, and `grant_one` if it leased: one statement on PostgreSQL (a
    data-modifying WITH), two on SQLite (which has none)."""
    if connection.dialect.name == "postgresql":
        return runnable("lease_and_grant", _lease_and_grant_statement).first(connection, {
            "grant_operation_id": operation_id, "target_id": target_id, "org_id": org_id,
            "digest": digest, "agent_id": agent_id, "now": now, "expires": expires}) is not None
    if not lease_one(connection, target_id, org_id, digest, agent_id, now, expires):
        return False
    grant_one(connection, operation_id, target_id, agent_id, now, expires)
    return True


def _grant_many_statement():
    t, g = Target.__table__, LeaseGrant.__table__
    return insert(g).from_select(
        ["operation_id", "target_id", "agent_id", "granted_at", "expires_at"],
        select(t.c.operation_id, t.c.id, bindparam("agent_id", type_=g.c.agent_id.type),
               bindparam("now", type_=g.c.granted_at.type),
               bindparam("expires", type_=g.c.expires_at.type))
        .where(t.c.id.in_(bindparam("ids", expanding=True))))



def _lease_statement():
    t = Target.__table__
    return update(t).where(t.c.id.in_(bindparam("ids", expanding=True)), WAITING_SQL).values(
        state=literal_column("'leased'"), leased_to_id=bindparam("agent_id"),
        leased_at=bindparam("now", type_=t.c.leased_at.type),
        lease_expires_at=bindparam("expires", type_=t.c.lease_expires_at.type), reason=None)



def lease_many(session: Session, ids: list[int], agent_id: int, now: datetime,
               expires: datetime) -> None:
    """Lease these checked (and locked) targets to the agent, and remember the grants."""
    params = {"ids": ids, "agent_id": agent_id, "now": now, "expires": expires}
    result = session.execute(prebuilt("lease", _lease_statement), params)
    if result.rowcount != len(ids):  # cannot happen under the locks taken; refuse loudly
        raise RuntimeError("a target changed while it was being leased")
    session.execute(prebuilt("grant_many", _grant_many_statement), params)
