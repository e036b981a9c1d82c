"""The job queue: slow work runs in `flask worker` processes, never in a web worker.

One library, Huey (docs/libraries.md says why). Its storage comes from `JOB_QUEUE_URL`:
a SQLite file in the instance folder by default (one machine, nothing to install), Redis or
PostgreSQL when workers on several hosts share the work (docs/deployment.md).

Declare work with `@job(...)` (or `@periodic_job(crontab(...))` for scheduled work): each run
gets a fresh app context and database session, committed when the job returns and rolled back
when it raises. A job that raises is retried as its options say (with backoff); when its last
try fails it is kept as a `FailedJob`, which an admin can see and run again.

Huey takes a job off the queue when a worker starts it, so a worker killed mid-job loses that
run: every job is idempotent and its truth lives in the database (an import's status, an
event's `handled_at`), where a periodic sweep finds unfinished work and enqueues it again.
With `JOBS_IMMEDIATE` (tests, single-process debugging) a job runs at once where it is
enqueued, still in an app context of its own.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from flask import Flask
from huey import Huey, crontab
from huey.api import Task, TaskWrapper
from huey.constants import EmptyData
from huey.signals import SIGNAL_ERROR
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ringround.extensions import db
from ringround.models import FailedJob, utcnow

__all__ = ["FailedJob", "QueueHealth", "crontab", "enqueue_after_commit", "failed_jobs", "huey",
           "init_queue", "job", "periodic_job", "queue_health", "run_again", "worker_last_seen"]

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# Declared at import so that jobs can be; `init_queue` gives it its storage from the config.
huey = Huey("ringround", results=False, storage_class=MemoryStorage)
_state: dict[str, Flask] = {}


def storage_for(url: str, instance_path: Path) -> tuple[type, dict[str, Any]]:
    """The Huey storage class and its arguments for a `JOB_QUEUE_URL`."""
    if not url or url == "sqlite":
        return SqliteStorage, {"filename": str(instance_path / "jobs.sqlite3")}
    if url.startswith("sqlite:///"):
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///")}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage, {"url": url}
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStorage, {"dsn": url}
    if url == "memory://":
        return MemoryStorage, {}
    raise ValueError(f"JOB_QUEUE_URL: unknown kind of queue storage: {url.split(':')[0]!r}")


def init_queue(app: Flask) -> None:
    """Point the queue at this app's storage; jobs run in this app's context."""
    storage_class, kwargs = storage_for(app.config["JOB_QUEUE_URL"], Path(app.instance_path))
    huey.storage_class, huey.storage_kwargs = storage_class, kwargs
    huey._immediate = bool(app.config["JOBS_IMMEDIATE"])
    huey.immediate_use_memory = storage_class is MemoryStorage
    huey.storage = huey.create_storage()
    _state["app"] = app


def job_app() -> Flask:
    """The app jobs run in (`init_queue`, from create_app): where job entry points, and the
    core modules they share with the web and CLI, read their settings, instance folder and
    logger (never from `current_app`)."""
    try:
        return _state["app"]
    except KeyError:
        raise RuntimeError("The job queue has no app: create_app() first.") from None



def _in_app_context(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with job_app().app_context():
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise

    return run


def job(*, retries: int = 0, retry_delay: float = 0, retry_backoff: float = 0,
        name: str | None = None, **options: Any) -> Callable[[Callable[P, R]], TaskWrapper]:
    """Make `fn` a job: calling it enqueues it (arguments must be JSON-like: ids, strings).

    `retries` tries again after `retry_delay` seconds, each wait `retry_backoff` times the
    one before. Call `fn.call_local(...)` to run it here and now.
    """
    def decorate(fn: Callable[P, R]) -> TaskWrapper:
        return huey.task(retries=retries, retry_delay=retry_delay, retry_backoff=retry_backoff,
                         name=name, **options)(_in_app_context(fn))

    return decorate


def periodic_job(schedule: Callable[[Any], bool], *, name: str | None = None,
                 **options: Any) -> Callable[[Callable[[], R]], TaskWrapper]:
    """Make `fn` run on a schedule (`crontab(minute="*/5")`) by the worker that runs
    periodic jobs (`flask worker`, unless started with `--no-periodic`)."""
    def decorate(fn: Callable[[], R]) -> TaskWrapper:
        return huey.periodic_task(schedule, name=name, **options)(_in_app_context(fn))

    return decorate


@huey.signal(SIGNAL_ERROR)
def _keep_failed(signal: str, task: Task, exc: BaseException | None = None) -> None:
    """The last try of a job failed: keep it for an admin to see and run again."""
    if task.retries:
        return  # Huey tries it again
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip() if exc else ""
    args, kwargs = task.args or (), task.kwargs or {}
    with job_app().app_context():
        db.session.add(FailedJob(task_name=huey._registry.task_to_string(type(task)),
                                 task_id=str(task.id),
                                 args=list(args), kwargs=dict(kwargs), error=error[:4000]))
        db.session.commit()


def run_again(session: Session, failed: FailedJob) -> None:
    """Enqueue a failed job again with the same arguments, once: it is marked retried and
    committed first, so that the new run (perhaps at once) sees it."""
    if failed.retried_at is not None:
        raise ValueError("This job was already run again.")
    task_class = huey._registry.string_to_task(failed.task_name)
    failed.retried_at = utcnow()
    session.commit()
    huey.enqueue(task_class(args=tuple(failed.args), kwargs=dict(failed.kwargs)))


_SEEN_KEY = "worker-seen"


@periodic_job(crontab(minute="*"))
def heartbeat() -> None:
    """Say that a worker runs (every minute): the console warns when none has for a while."""
    huey.storage.put_data(_SEEN_KEY, str(utcnow().timestamp()).encode())


def worker_last_seen() -> float | None:
    """When a worker last ran its heartbeat (a UNIX time), or None if never."""
    value = huey.storage.peek_data(_SEEN_KEY)
    return None if value is EmptyData else float(value.decode())


_AFTER_COMMIT = "jobs_after_commit"


def enqueue_after_commit(session: Session, task: TaskWrapper, *args: Any) -> None:
    """Enqueue `task(*args)` once `session` commits (the job then finds what it needs);
    nothing is enqueued if it rolls back. A killed process between the commit and the
    enqueue loses the message only: its work must be findable again (an outbox row)."""
    session.info.setdefault(_AFTER_COMMIT, []).append((task, args))


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    for task, args in session.info.pop(_AFTER_COMMIT, ()):
        task(*args)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


WORKER_SILENT_AFTER = 180  # seconds without a heartbeat (one a minute) before the console warns


@dataclass(frozen=True)
class QueueHealth:
    """What the console tells instance admins about the queue."""

    waiting: int  # jobs in the queue, not yet taken by a worker
    last_seen: float | None  # a worker's last heartbeat (UNIX time)
    failed: int  # failed jobs not yet run again

    @property
    def no_worker(self) -> bool:
        """Jobs wait and no worker has been seen for `WORKER_SILENT_AFTER` seconds."""
        return self.waiting > 0 and (
            self.last_seen is None or time.time() - self.last_seen > WORKER_SILENT_AFTER)


def queue_health(session: Session) -> QueueHealth:
    """The queue's length, the last heartbeat and the count of failed jobs."""
    failed = session.scalar(select(func.count()).select_from(FailedJob).where(
        FailedJob.retried_at.is_(None))) or 0
    return QueueHealth(len(huey), worker_last_seen(), failed)


def failed_jobs(session: Session, limit: int = 200) -> list[FailedJob]:
    """The failed jobs, newest first."""
    return list(session.scalars(select(FailedJob).order_by(FailedJob.failed_at.desc(),
                                                           FailedJob.id.desc()).limit(limit)))
