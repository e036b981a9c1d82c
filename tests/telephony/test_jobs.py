"""Work after a webhook: queue jobs through an outbox (sms/jobs.py). The webhook stores the
event, the job runs after the commit and marks it handled in its own transaction; a sweep
enqueues again what a killed worker or a failing job left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ringround.background import huey
from ringround.extensions import db
from ringround.models import AuditEntry, ProviderEvent, utcnow
from sms import jobs

_runs: list[str] = []
_broken: set[str] = set()


@jobs.follow_up
def write_audit(action: str) -> None:
    _runs.append(action)
    if action in _broken:
        raise RuntimeError(f"the database said no to {action}")
    db.session.add(AuditEntry(action=action))


@pytest.fixture(autouse=True)
def _clean():
    _runs.clear()
    _broken.clear()


def audits(action: str) -> int:
    db.session.rollback()
    return len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def event_of(action: str) -> ProviderEvent:
    db.session.rollback()
    return db.session.scalars(select(ProviderEvent).where(ProviderEvent.args == [action])).one()


def test_deferred_work_runs_as_a_job_after_the_commit_and_marks_its_event_handled(app):
    event = jobs.defer(write_audit, "job.after")
    assert _runs == []  # nothing runs before the webhook's transaction is committed
    db.session.commit()
    assert _runs == ["job.after"] and audits("job.after") == 1
    assert event_of("job.after").handled_at is not None
    # A second run of the same event (the sweep and the first message both ran) does nothing.
    jobs.run_event(event.id)
    assert _runs == ["job.after"] and audits("job.after") == 1


def test_a_rolled_back_webhook_leaves_no_event_and_runs_nothing(app):
    jobs.defer(write_audit, "job.dropped")
    db.session.rollback()
    db.session.commit()
    assert _runs == []
    assert db.session.scalar(select(ProviderEvent.id)) is None


def test_only_declared_follow_ups_can_be_deferred(app):
    with pytest.raises(ValueError, match="not declared"):
        jobs.defer(print, "x")


def _age(event_id: int, minutes: float) -> None:
    db.session.execute(update(ProviderEvent).where(ProviderEvent.id == event_id).values(
        enqueued_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def test_a_failing_job_leaves_its_event_to_do_and_the_sweep_runs_it_once_it_works(app):
    _broken.add("job.flaky")
    event = jobs.defer(write_audit, "job.flaky")
    db.session.commit()
    assert _runs == ["job.flaky"]
    assert event_of("job.flaky").handled_at is None  # not handled: its transaction rolled back
    assert audits("job.flaky") == 0
    assert len(huey.scheduled()) == 1  # Huey tries again later (backoff)
    jobs.sweep_outbox()
    assert _runs == ["job.flaky"]  # too recent for the sweep
    _broken.clear()
    _age(event.id, 4)
    jobs.sweep_outbox()
    assert _runs == ["job.flaky"] * 2 and audits("job.flaky") == 1
    swept = event_of("job.flaky")
    assert swept.handled_at is not None and swept.sweeps == 1
    _age(event.id, 4)
    jobs.sweep_outbox()  # handled: never again
    assert _runs == ["job.flaky"] * 2


def test_a_lost_queue_message_is_found_again_by_the_sweep(app):
    """A worker killed after the commit loses the Huey message, not the event."""
    event = jobs.defer(write_audit, "job.lost")
    db.session().info.pop("jobs_after_commit")  # the enqueue never happened
    db.session.commit()
    assert _runs == []
    _age(event.id, 4)
    jobs.sweep_outbox()
    assert _runs == ["job.lost"] and audits("job.lost") == 1


def test_the_sweep_gives_up_after_a_few_tries(app):
    _broken.add("job.hopeless")
    event = jobs.defer(write_audit, "job.hopeless")
    db.session.commit()
    for _ in range(jobs.MAX_SWEEPS + 2):
        _age(event.id, 4)
        jobs.sweep_outbox()
    assert len(_runs) == 1 + jobs.MAX_SWEEPS
    assert event_of("job.hopeless").handled_at is None


def test_prune_forgets_old_webhook_deliveries_but_keeps_work_to_do(app, runner):
    old = utcnow() - timedelta(days=40)
    db.session.add_all([
        ProviderEvent(sid="SMold", kind="sms_in", created_at=old),
        ProviderEvent(sid="SMnew", kind="sms_in"),
        ProviderEvent(sid="job-1", kind="job:x", job="x", args=[], created_at=old),
        ProviderEvent(sid="job-2", kind="job:x", job="x", args=[], created_at=old,
                      handled_at=old)])
    db.session.commit()
    result = runner.invoke(args=["telephony", "prune", "--days", "30"])
    assert "2 webhook deliveries forgotten." in result.output
    assert sorted(e.sid for e in db.session.query(ProviderEvent).all()) == ["SMnew", "job-1"]
