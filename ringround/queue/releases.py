"""Leases given back: skipped, returned, renewed (their expiry is in `leasing`).

Every lease given back ends its grant too (`LeaseGrant.ended_at`): a result for it is refused
from then on (`grants.lease_standing`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from ringround.models import LeaseGrant, Operation, Target, TargetState, User
from ringround.queue._sql import LEASED_SQL, _id_of
from ringround.queue._tx import begin_write
from ringround.queue.leasing import ONLINE_LEASE_MINUTES, _now

# A skipped target is put aside for a while so the next card is someone else.
SKIP_DELAY = timedelta(minutes=10)


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


__all__ = ["release_target", "renew_leases", "return_batch"]
