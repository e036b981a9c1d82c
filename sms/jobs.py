"""Slow work after a webhook's answer: a small in-process queue run by one thread.

Webhooks record what happened and answer Twilio at once; `defer(fn, ...)` runs `fn` later in
its own app context (and database session). With TELEPHONY_JOBS=sync (tests) the job runs at
the end of the request, after the webhook's own transaction is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app, g

from ringround.extensions import db

log = logging.getLogger(__name__)
_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def defer(fn: Callable[..., None], *args, **kwargs) -> None:
    """Run `fn(*args, **kwargs)` after this request, in its own app context."""
    g.setdefault("telephony_jobs", []).append((fn, args, kwargs))


def _run(app: Flask, fn: Callable[..., None], args, kwargs) -> None:
    with app.app_context():
        try:
            fn(*args, **kwargs)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("telephony job %s failed", getattr(fn, "__name__", fn))


def _flush_jobs(exc: BaseException | None) -> None:
    jobs = g.pop("telephony_jobs", [])
    if not jobs or exc is not None:
        return
    app = current_app._get_current_object()
    if app.config.get("TELEPHONY_JOBS") == "sync":
        for fn, args, kwargs in jobs:
            _run(app, fn, args, kwargs)
        return
    executor = _EXECUTORS.get(id(app))
    if executor is None:
        executor = _EXECUTORS[id(app)] = ThreadPoolExecutor(1, "telephony-jobs")
    for fn, args, kwargs in jobs:
        executor.submit(_run, app, fn, args, kwargs)


def init_jobs(app: Flask) -> None:
    """Run deferred jobs once the request (and its commit) is over."""
    app.teardown_request(_flush_jobs)
