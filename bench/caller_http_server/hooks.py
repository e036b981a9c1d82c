"""gunicorn settings for bench/caller_http.py: counts each worker's SQL statements.

Every statement the database driver runs adds one to a counter kept in a small file per
worker (`$BENCH_COUNT_DIR/<pid>`: SQL statements, then BEGIN/COMMIT/ROLLBACK apart), which
the benchmark reads before and after its measured phase. SQLite: the driver's trace callback
(every statement SQLite runs); psycopg: its cursors' executes, the BEGIN it sends on its own,
commits and rollbacks.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from pathlib import Path

_counter: mmap.mmap | None = None
_profile = None


def _add(slot: int = 0) -> None:
    """One more statement: slot 0 SQL, slot 1 transaction control."""
    (value,) = struct.unpack_from("q", _counter, slot * 8)
    struct.pack_into("q", _counter, slot * 8, value + 1)


def _open_counter() -> None:
    global _counter
    path = Path(os.environ["BENCH_COUNT_DIR"]) / str(os.getpid())
    path.write_bytes(b"\0" * 16)
    with path.open("r+b") as handle:
        _counter = mmap.mmap(handle.fileno(), 16)


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "END")


def _count_sqlite(dbapi_connection) -> None:
    dbapi_connection.set_trace_callback(
        lambda sql: _add(1 if sql.lstrip().upper().startswith(_CONTROL) else 0))


def _count_psycopg(dbapi_connection) -> None:
    import psycopg
    from psycopg.pq import TransactionStatus

    connection = dbapi_connection

    def counted(method, begins: bool):
        def run(*args, **kwargs):
            if begins and not connection.autocommit and (
                    connection.info.transaction_status == TransactionStatus.IDLE):
                _add(1)  # the BEGIN psycopg sends before the first statement
            _add()
            return method(*args, **kwargs)
        return run

    class CountingCursor(psycopg.Cursor):
        def execute(self, *args, **kwargs):
            return counted(super().execute, True)(*args, **kwargs)

        def executemany(self, *args, **kwargs):
            return counted(super().executemany, True)(*args, **kwargs)

    connection.cursor_factory = CountingCursor
    for name in ("commit", "rollback"):
        original = getattr(connection, name)

        def finish(original=original):
            if connection.info.transaction_status != TransactionStatus.IDLE:
                _add(1)
            return original()
        setattr(connection, name, finish)


def engine_of(app):
    """The app's engine: the bare app's own, or Flask-SQLAlchemy's."""
    if "bench_engine" in app.extensions:
        return app.extensions["bench_engine"]
    from ringround.extensions import db

    with app.app_context():
        return db.engine


def post_worker_init(worker) -> None:
    global _profile
    from sqlalchemy import event

    if os.environ.get("BENCH_PROFILE_DIR") and "bench_engine" not in worker.wsgi.extensions:
        import cProfile

        _profile = cProfile.Profile(time.process_time)  # CPU, not the busy machine's wait

    _open_counter()
    engine = engine_of(worker.wsgi)
    count = _count_sqlite if engine.dialect.name == "sqlite" else _count_psycopg
    event.listen(engine, "connect", lambda dbapi_connection, _record: count(dbapi_connection))
    engine.dispose()


_requests = 0


def pre_request(_worker, _request) -> None:
    """Profile from the 50th request on: the templates compiled and the caches warm."""
    global _requests
    _requests += 1
    if _profile is not None and _requests == 50:
        _profile.enable()


def worker_exit(_server, _worker) -> None:
    """Write the worker's profile (`BENCH_PROFILE_DIR`), read with pstats."""
    if _profile is not None:
        _profile.disable()
        _profile.dump_stats(str(Path(os.environ["BENCH_PROFILE_DIR"]) / f"{os.getpid()}.prof"))
