"""`flask --app wsgi telephony …`: housekeeping of the provider event log and the simulator."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import delete

from ringround.extensions import db
from ringround.models import ProviderEvent, SimCall, SimText, utcnow

telephony_cli = AppGroup("telephony", help="Telephony housekeeping.")


@telephony_cli.command("prune")
@click.option("--days", default=30, show_default=True,
              help="Forget webhook deliveries older than this (Twilio retries within hours).")
def prune(days: int) -> None:
    """Delete old entries of the webhook idempotency log (never work still to do)."""
    cutoff = utcnow() - timedelta(days=days)
    gone = db.session.execute(delete(ProviderEvent).where(
        ProviderEvent.created_at < cutoff,
        ProviderEvent.job.is_(None) | ProviderEvent.handled_at.is_not(None)))
    db.session.commit()
    click.echo(f"{gone.rowcount or 0} webhook deliveries forgotten.")


@telephony_cli.command("simulator-reset")
def simulator_reset() -> None:
    """Empty the simulator's phones (its calls and texts)."""
    calls = db.session.execute(delete(SimCall)).rowcount or 0
    texts = db.session.execute(delete(SimText)).rowcount or 0
    db.session.commit()
    click.echo(f"{calls} simulated calls and {texts} simulated texts removed.")
