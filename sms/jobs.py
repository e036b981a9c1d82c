"""Work that follows a webhook (automatic results, releases, follow-up texts), run as queue
jobs through an outbox.

A webhook calls `defer(fn, ...)`: that stores an outbox row (a `ProviderEvent` with the job's
name and arguments) in the webhook's own transaction, and enqueues `run_event` once it is
committed. The row counts as handled only when its job succeeds: `handled_at` is set in the
job's transaction, so a failure or a killed worker leaves it to do, and `sweep_outbox` (every
minute) enqueues again rows left unhandled for a few minutes. Handlers are idempotent: an event
claimed by one run is skipped by any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update

from ringround.background import crontab, enqueue_after_commit, job, periodic_job
from ringround.extensions import db
from ringround.models import ProviderEvent, utcnow

F = TypeVar("F", bound=Callable[..., None])
_HANDLERS: dict[str, Callable[..., None]] = {}
SWEEP_AFTER = timedelta(minutes=3)
MAX_SWEEPS = 5


def follow_up(fn: F) -> F:
    """Declare `fn` as work a webhook may `defer` (it runs with the job's session)."""
    _HANDLERS[f"{fn.__module__}.{fn.__qualname__}"] = fn
    return fn


def defer(fn: Callable[..., None], *args: Any) -> ProviderEvent:
    """Store `fn(*args)` in the outbox of this transaction; it runs as a job after the commit.
    Arguments must be JSON-like (ids, strings)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    if _HANDLERS.get(name) is not fn:
        raise ValueError(f"{name} is not declared with @follow_up")
    event = ProviderEvent(sid=f"job-{uuid.uuid4().hex}", kind=f"job:{fn.__name__}"[:64],
                          job=name, args=list(args), enqueued_at=utcnow())
    db.session.add(event)
    db.session.flush()
    enqueue_after_commit(db.session(), run_event, event.id)
    return event


@job(retries=4, retry_delay=10, retry_backoff=3)
def run_event(event_id: int) -> None:
    """Run one outbox row's work and mark it handled, in one transaction (or neither)."""
    claimed = db.session.execute(
        update(ProviderEvent).where(ProviderEvent.id == event_id,
                                    ProviderEvent.handled_at.is_(None))
        .values(handled_at=utcnow())
    ).rowcount
    if not claimed:
        return  # done already (a sweep and the first message both ran), or gone
    event = db.session.get(ProviderEvent, event_id)
    handler = _HANDLERS.get(event.job or "")
    if handler is None:
        raise LookupError(f"no follow-up named {event.job!r}")
    handler(*(event.args or []))


@periodic_job(crontab(minute="*"))
def sweep_outbox() -> None:
    """Enqueue again the outbox rows still unhandled a few minutes after their last enqueue
    (their queue message was lost with a killed worker, or their job failed for good)."""
    now = utcnow()
    ids = db.session.scalars(
        select(ProviderEvent.id).where(
            ProviderEvent.job.is_not(None), ProviderEvent.handled_at.is_(None),
            ProviderEvent.enqueued_at < now - SWEEP_AFTER, ProviderEvent.sweeps < MAX_SWEEPS,
        ).order_by(ProviderEvent.id).limit(500)
    ).all()
    if not ids:
        return
    db.session.execute(update(ProviderEvent).where(ProviderEvent.id.in_(ids)).values(
        enqueued_at=now, sweeps=ProviderEvent.sweeps + 1))
    for event_id in ids:
        enqueue_after_commit(db.session(), run_event, event_id)
