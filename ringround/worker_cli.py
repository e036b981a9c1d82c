"""`flask worker`: runs background jobs (ringround/background.py) until stopped."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from ringround.background import huey
from ringround.extensions import db


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True,
              help="Jobs run at the same time by this process.")
@click.option("--worker-type", type=click.Choice(["thread", "process"]), default="thread",
              show_default=True, help="Threads, or processes for CPU-heavy work.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run scheduled jobs; give --no-periodic to all workers but one.")
@with_appcontext
def worker(workers: int, worker_type: str, periodic: bool) -> None:
    """Run background jobs (imports, texts and calls, webhook follow-ups, scheduled work).

    Ctrl-C lets running jobs finish; a second Ctrl-C or SIGTERM stops at once (the jobs'
    work is found again by the periodic sweeps)."""
    if current_app.config["JOBS_IMMEDIATE"]:
        raise click.ClickException("JOBS_IMMEDIATE is set: jobs run where they are enqueued, "
                                   "a worker has nothing to do.")
    # Connections opened before the fork are not shared with process workers.
    db.engine.dispose(close=False)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Looks for new jobs at least every second when idle (Huey's default backs off to 10 s).
    consumer = huey.create_consumer(workers=workers, worker_type=worker_type,
                                    periodic=periodic, check_worker_health=True, max_delay=1.0)
    click.echo(f"Worker: {workers} {worker_type}(s), queue in "
               f"{huey.storage.__class__.__name__}, periodic jobs {'on' if periodic else 'off'}.")
    consumer.run()
