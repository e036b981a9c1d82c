"""Scheduled upkeep, run by the worker that runs periodic jobs (`flask worker`, not
`--no-periodic`): leases that ran out, lease grants no check reads any more, and backups.
(Imports have their own in ringround/people/jobs.py: the sweep and the purge.) Each is
idempotent: run twice, or late, it changes nothing twice."""

from __future__ import annotations

from datetime import timedelta

from ringround.background import crontab, job_app, periodic_job
from ringround.backups import backup_due, create_backup
from ringround.extensions import db
from ringround.queue.grants import prune_grants
from ringround.queue.leasing import expire_leases


@periodic_job(crontab(minute="*"), name="queue.expire_leases")
def expire_leases_job() -> None:
    """Every minute: people whose lease ran out go back in line (leasing also does it for
    its own operation; this covers operations nobody leases from)."""
    expire_leases(db.session)


@periodic_job(crontab(minute="41", hour="2"), name="queue.prune_grants")
def prune_grants_job() -> None:
    """Every night: delete the lease grants kept long enough (`GRANTS_KEPT`)."""
    count = prune_grants(db.session)
    if count:
        job_app().logger.info("pruned %s lease grants", count)


@periodic_job(crontab(minute="7"), name="backups.scheduled")
def scheduled_backup() -> None:
    """Every hour: a backup when the newest is BACKUP_SCHEDULE hours old (none when off),
    then only the newest BACKUP_KEEP kept."""
    config = job_app().config
    if not config["BACKUP_SCHEDULE"] or not backup_due(
            timedelta(hours=config["BACKUP_SCHEDULE"])):
        return
    info = create_backup(db.engine, passphrase=config["BACKUP_PASSPHRASE"],
                         keep=config["BACKUP_KEEP"])
    job_app().logger.info("scheduled backup written: %s", info.path)
