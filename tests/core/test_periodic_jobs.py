"""Scheduled upkeep (ringround/periodic_jobs.py): leases that ran out, old lease grants,
scheduled backups with a retention count. Each runs as the worker runs it (`call_local`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import stamp
from sqlalchemy import select, update

from ringround import periodic_jobs
from ringround.backups import backup_due, backup_status, list_backups
from ringround.config import backup_schedule
from ringround.extensions import db
from ringround.models import LeaseGrant, Target, TargetState
from ringround.queue import lease_next
from ringround.queue.grants import GRANTS_KEPT
from tests.core.queue.conftest import NOW, QueueWorld


@pytest.fixture
def world(factories):
    return QueueWorld(factories)


def test_leases_that_ran_out_go_back_in_line(world):
    person = world.contact()
    op = world.operation([person])
    lease = lease_next(db.session, op, world.agent(operation=op), now=NOW)  # long ago
    db.session.commit()
    periodic_jobs.expire_leases_job.call_local()
    db.session.expire_all()
    assert db.session.get(Target, lease.target_id).state is TargetState.WAITING


def test_old_lease_grants_are_pruned_recent_ones_kept(world):
    people = [world.contact(f"P{i}") for i in range(2)]
    op = world.operation(people)
    agent = world.agent(operation=op)
    old = lease_next(db.session, op, agent, now=NOW)
    recent = lease_next(db.session, op, agent, now=NOW)
    now = datetime.now(UTC)
    for lease, ended in ((old, now - GRANTS_KEPT - timedelta(hours=1)),
                         (recent, now - GRANTS_KEPT + timedelta(hours=1))):
        db.session.execute(update(LeaseGrant).where(LeaseGrant.target_id == lease.target_id)
                           .values(expires_at=ended))
    db.session.commit()
    periodic_jobs.prune_grants_job.call_local()
    db.session.expire_all()
    assert list(db.session.scalars(select(LeaseGrant.target_id))) == [recent.target_id]
    assert old.target_id != recent.target_id


def test_scheduled_backups_follow_the_schedule_and_keep_the_newest(app, tmp_path):
    stamp()  # a schema revision, as `flask db upgrade` leaves
    app.config.update(BACKUP_SCHEDULE=24, BACKUP_KEEP=2, BACKUP_DIR=str(tmp_path / "b"))
    assert backup_status().overdue  # the console warns
    periodic_jobs.scheduled_backup.call_local()
    assert len(list_backups()) == 1 and not backup_status().overdue
    periodic_jobs.scheduled_backup.call_local()  # the next hour: not due yet
    assert len(list_backups()) == 1
    later = datetime.now(UTC) + timedelta(hours=24)
    assert backup_due(timedelta(hours=24), now=later)
    assert not backup_due(timedelta(hours=24), now=later - timedelta(hours=1))
    assert backup_status(now=later + timedelta(minutes=1)).overdue  # still warns when late

    app.config["BACKUP_SCHEDULE"] = 1
    for _ in range(3):
        _age_backups(tmp_path / "b")
        periodic_jobs.scheduled_backup.call_local()
    assert len(list_backups()) == 2  # BACKUP_KEEP

    app.config["BACKUP_SCHEDULE"] = 0  # off
    _age_backups(tmp_path / "b")
    periodic_jobs.scheduled_backup.call_local()
    assert len(list_backups()) == 2


def _age_backups(folder):
    """Rewrite each backup's header so that it looks a day older."""
    import json

    for path in folder.iterdir():
        data = path.read_bytes()
        header_line, _, rest = data.partition(b"\n")
        header = json.loads(header_line)
        created = datetime.fromisoformat(header["created_at"]) - timedelta(days=1)
        header["created_at"] = created.isoformat()
        path.write_bytes(json.dumps(header).encode() + b"\n" + rest)


@pytest.mark.parametrize(("value", "hours"), [("24", 24), ("off", 0), ("", 0), ("6", 6)])
def test_the_backup_schedule_setting(value, hours):
    assert backup_schedule(value) == hours


def test_a_bad_backup_schedule_is_refused_clearly():
    with pytest.raises(ValueError, match="number of hours or 'off'"):
        backup_schedule("daily")
