"""Transactions for the queue's writers, on SQLite and PostgreSQL.

SQLite allows one writer at a time. Python's sqlite3 starts a transaction lazily, at the first
write, so a "read the next target, then lease it" done naively reads a snapshot that another
writer may change before our write: two callers could pick the same target. We therefore start
every queue write with `BEGIN IMMEDIATE`, which takes the write lock first (waiting up to the
busy timeout): choosing and leasing then happen under one lock, across threads and processes.

Within one process, writers also queue on a Python lock per database before `BEGIN IMMEDIATE`:
SQLite's own busy handler polls with sleeps of up to 100 ms, which under many threads turns
a 1 ms wait into a 100 ms one. The lock is released when the transaction ends (commit,
rollback, or the connection going back to the pool).

PostgreSQL has row locks: the queue selects candidates with `FOR UPDATE SKIP LOCKED`, so
concurrent callers never wait on, nor take, a row another transaction holds.
"""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

# How long a writer waits for another thread of this process before trying anyway (SQLite's
# busy timeout then applies).
LOCAL_WAIT_SECONDS = 15
_INFO_KEY = "ringround_write_lock"
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_for(database: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(database)
        if lock is None:
            lock = _locks[database] = threading.Lock()
        return lock


def begin_write(session: Session, connection: Connection | None = None) -> Connection:
    """Make the session's current transaction a writer (SQLite: take the write lock now).
    Returns the session's connection (pass it when you have it: fetching it costs).

    The lock is held until the caller commits or rolls back: commit promptly.
    """
    if connection is None:
        connection = session.connection()
    if connection.dialect.name != "sqlite":
        return connection
    raw = connection.connection.driver_connection
    # pysqlite opens its transaction at the first write; if one is open we already hold the
    # write lock (a RESERVED lock), so there is nothing to do.
    if raw.in_transaction:
        return connection
    info = connection.connection.info
    if _INFO_KEY not in info:
        lock = _lock_for(str(connection.engine.url.database))
        if lock.acquire(timeout=LOCAL_WAIT_SECONDS):
            info[_INFO_KEY] = lock
    try:
        raw.execute("BEGIN IMMEDIATE")
    except Exception:
        _release(info)
        raise
    return connection


def _release(info) -> None:
    lock = info.pop(_INFO_KEY, None)
    if lock is not None:
        lock.release()


@event.listens_for(Engine, "commit")
def _after_commit(connection) -> None:
    _release(connection.info)


@event.listens_for(Engine, "rollback")
def _after_rollback(connection) -> None:
    if not connection.invalidated:  # an invalidated one gave its lock back (below)
        _release(connection.info)


@event.listens_for(Pool, "invalidate")
def _on_invalidate(_dbapi_connection, record, _exception) -> None:
    if record is not None:
        _release(record.info)


@event.listens_for(Pool, "checkin")
def _on_checkin(_dbapi_connection, record) -> None:
    if record is not None:
        _release(record.info)


@event.listens_for(Pool, "invalidate")
def _on_invalidate(_dbapi_connection, record, _exception) -> None:
    if record is not None:
        _release(record.info)
