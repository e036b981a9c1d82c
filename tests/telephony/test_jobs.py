"""Slow work after a webhook's answer: the background thread and the synchronous mode."""

from __future__ import annotations

import threading

import pytest
from flask import g

from ringround.extensions import db
from ringround.models import AuditEntry
from sms import jobs


def write_audit(action: str, done: threading.Event | None = None) -> None:
    db.session.add(AuditEntry(action=action))
    if done is not None:
        db.session.commit()
        done.set()


@pytest.fixture
def app_overrides():
    return {"TELEPHONY_JOBS": "thread", "PUBLIC_BASE_URL": "https://calls.example.org"}


def test_deferred_work_runs_in_a_background_thread_after_the_request(app):
    done = threading.Event()
    with app.test_request_context("/"):
        jobs.defer(write_audit, "job.thread", done)
        assert g.telephony_jobs  # nothing ran yet: the request is still going
    assert done.wait(5)
    db.session.expire_all()
    assert db.session.query(AuditEntry).filter_by(action="job.thread").count() == 1


def test_a_failing_request_drops_its_deferred_work(app):
    with pytest.raises(RuntimeError), app.test_request_context("/"):
        jobs.defer(write_audit, "job.dropped")
        raise RuntimeError("the webhook failed")
    executor = jobs._EXECUTORS.get(id(app))
    if executor is not None:  # let anything queued finish before looking
        executor.submit(lambda: None).result(5)
    assert db.session.query(AuditEntry).filter_by(action="job.dropped").count() == 0


def test_prune_forgets_old_webhook_deliveries_only(app, runner):
    from datetime import timedelta

    from ringround.models import ProviderEvent, utcnow

    db.session.add_all([
        ProviderEvent(sid="SMold", kind="sms_in", created_at=utcnow() - timedelta(days=40)),
        ProviderEvent(sid="SMnew", kind="sms_in")])
    db.session.commit()
    result = runner.invoke(args=["telephony", "prune", "--days", "30"])
    assert "1 webhook deliveries forgotten." in result.output
    assert [e.sid for e in db.session.query(ProviderEvent).all()] == ["SMnew"]
