"""What a forked process must not share with its parent: database connections.

`gunicorn --preload` builds the app once in the master and forks the workers from it (half
the start-up CPU, docs/deployment.md). A connection opened in the master before the fork
(a pooled database connection, the job queue's SQLite or PostgreSQL connection) would be
inherited by every worker: two processes writing on one socket or one SQLite handle. So,
in every child, the pools of the apps' engines and the queue's connection are dropped
without being closed (closing would end the parent's, which it may still use); each worker
then opens its own on first use.
"""

from __future__ import annotations

import os
import threading
import weakref

from sqlalchemy.engine import Engine

from ringround.background import huey

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def track_engine(engine: Engine) -> None:
    """Drop this engine's pooled connections in every child process forked from now on."""
    _engines.add(engine)


def forget_inherited_connections() -> None:
    """Run in a new child: new pools for the engines, no connection for the job queue."""
    for engine in list(_engines):
        engine.dispose(close=False)
    storage = huey.storage
    if hasattr(storage, "_conn"):  # Huey's SQL storages open one connection lazily
        storage._conn = None
        storage.lock = threading.Lock()  # the parent may have held it while forking
    # Redis storage needs nothing: redis-py's pool sees the new pid and reconnects.


os.register_at_fork(after_in_child=forget_inherited_connections)
