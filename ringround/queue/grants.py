"""What the leases granted say: whether a result's lease still holds, and unusual callers.

Every lease granted is remembered (`LeaseGrant`): who was shown whom, until when, and whether
they handed the person back. The limits on how many people an agent is shown count them in
`leasing`; here they decide whether a result may still be recorded, and which agents the
dashboard points out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ringround.models import Attempt, LeaseGrant, Target, TargetState, User
from ringround.queue.leasing import SeeingLimits, _now

# A result may arrive after its lease ended (an offline phone syncs later): it is accepted
# for this long after the lease's end, so an offline batch (12 hours) has 24 hours in all.
RESULT_GRACE = timedelta(hours=12)
# How long a grant is kept after its lease ended: the limits and alerts read the last hour,
# a late result its lease's grace (RESULT_GRACE). A phone offline for weeks then sending a
# result is refused either way ("too long ago" within this time, "not given" after).
GRANTS_KEPT = timedelta(days=30)
# The dashboard points out an agent who skipped this many people or more within an hour.
SKIP_ALERT = 20
ALERT_WINDOW = timedelta(hours=1)


class Standing(enum.StrEnum):
    """Whether an agent may record a new result for a target, and if not, why."""

    HELD = "held"  # leased to them now
    LATE = "late"  # their lease ended, but within the grace period and nobody took over
    NOT_GIVEN = "not_given"  # never leased to them
    HANDED_BACK = "handed_back"  # they skipped it or handed it back
    EXPIRED = "expired"  # the lease and its grace period are over
    REASSIGNED = "reassigned"  # leased to someone else since
    ALREADY_DONE = "already_done"  # a result was recorded for it since (by anyone)

    @property
    def ok(self) -> bool:
        return self in (Standing.HELD, Standing.LATE)


def lease_standing(session: Session, target: Target, agent_id: int, client_id: str,
                   now: datetime | None = None) -> Standing:
    """May `agent_id` record a new result (`client_id`, not recorded yet) for `target`?

    Only while the lease it was given lives: held now, or ended by itself (not handed back)
    less than RESULT_GRACE ago with nobody else leased the person since and no result
    recorded for them since. A resend of a recorded result never gets here (it is a
    duplicate, answered with the first outcome)."""
    now = _now(now)
    if (target.state == TargetState.LEASED and target.leased_to_id == agent_id
            and target.lease_expires_at is not None and target.lease_expires_at > now):
        return Standing.HELD
    g = LeaseGrant.__table__
    grant = session.execute(select(g.c.granted_at, g.c.expires_at, g.c.ended_at).where(
        g.c.target_id == target.id, g.c.agent_id == agent_id,
    ).order_by(g.c.granted_at.desc(), g.c.id.desc()).limit(1)).first()
    if grant is None:
        return Standing.NOT_GIVEN
    if grant.ended_at is not None:
        return Standing.HANDED_BACK
    if now > grant.expires_at + RESULT_GRACE:
        return Standing.EXPIRED
    taken = session.scalar(select(g.c.id).where(
        g.c.target_id == target.id, g.c.agent_id != agent_id,
        g.c.granted_at >= grant.granted_at).limit(1))
    if taken is not None:
        return Standing.REASSIGNED
    recorded = session.scalar(select(Attempt.id).where(
        Attempt.target_id == target.id, Attempt.recorded_at.is_not(None),
        Attempt.created_at >= grant.granted_at, Attempt.client_id != client_id).limit(1))
    if recorded is not None or target.state in (TargetState.DONE, TargetState.REMOVED):
        return Standing.ALREADY_DONE
    return Standing.LATE


@dataclass(frozen=True)
class CallerAlert:
    """An agent whose pace looks unlike calling (reading the list, skipping many)."""

    agent_id: int
    name: str
    kind: str  # "skips" or "limit"
    count: int  # people skipped, or shown in the hour
    minutes: int  # over how many minutes


def caller_alerts(session: Session, operation_id: int, limits: SeeingLimits | None,
                  now: datetime | None = None, skip_alert: int = SKIP_ALERT
                  ) -> list[CallerAlert]:
    """Agents of the operation who, in the last hour, skipped `skip_alert` people or more,
    or were shown as many people as the limits allow (per minute or per hour)."""
    now = _now(now)
    g = LeaseGrant.__table__
    rows = session.execute(select(g.c.agent_id, g.c.granted_at, g.c.ended_at, g.c.ended_by)
                           .where(g.c.operation_id == operation_id,
                                  g.c.granted_at > now - ALERT_WINDOW)
                           .order_by(g.c.agent_id, g.c.granted_at)).all()
    by_agent: dict[int, list] = {}
    for row in rows:
        by_agent.setdefault(row.agent_id, []).append(row)
    found: list[CallerAlert] = []
    for agent_id, grants in by_agent.items():
        skips = sorted(r.ended_at for r in grants if r.ended_by == "skip")
        if len(skips) >= skip_alert:
            found.append(CallerAlert(agent_id, "", "skips", len(skips),
                                     _minutes(skips[-1] - skips[0])))
        if limits is not None and _hit_limit([r.granted_at for r in grants], limits):
            found.append(CallerAlert(agent_id, "", "limit", len(grants),
                                     _minutes(grants[-1].granted_at - grants[0].granted_at)))
    if not found:
        return []
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({alert.agent_id for alert in found}))).tuples().all())
    return [CallerAlert(a.agent_id, names.get(a.agent_id, ""), a.kind, a.count, a.minutes)
            for a in found]


def _minutes(span: timedelta) -> int:
    return max(1, -(-int(span.total_seconds()) // 60))


def _hit_limit(times: list[datetime], limits: SeeingLimits) -> bool:
    """Whether these grant times (in order, within an hour) reached either limit."""
    if len(times) >= limits.per_hour:
        return True
    start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= timedelta(minutes=1):
            start += 1
        if end - start + 1 >= limits.per_minute:
            return True
    return False


def prune_grants(session: Session, now: datetime | None = None) -> int:
    """Delete the grants no check reads any more (expired `GRANTS_KEPT` ago); the caller
    commits. Returns how many."""
    g = LeaseGrant.__table__
    return session.execute(delete(g).where(g.c.expires_at < _now(now) - GRANTS_KEPT)).rowcount
