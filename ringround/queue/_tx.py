"""Transactions for the queue's writers, on SQLite and PostgreSQL.

SQLite allows one writer at a time. Python's sqlite3 starts a transaction lazily, at the first
write, so a "read the next target, then lease it" done naively reads a snapshot that another
writer may change before our write: two callers could pick the same target. We therefore start
every queue write with `BEGIN IMMEDIATE`, which takes the write lock first (waiting up to the
busy timeout): choosing and leasing then happen under one lock, across threads and processes.

PostgreSQL has row locks: the queue selects candidates with `FOR UPDATE SKIP LOCKED`, so
concurrent callers never wait on, nor take, a row another transaction holds.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def begin_write(session: Session) -> None:
    """Make the session's current transaction a writer (SQLite: take the write lock now).

    The lock is held until the caller commits or rolls back: commit promptly.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.driver_connection
    # pysqlite opens its transaction at the first write; if one is open we already hold the
    # write lock (a RESERVED lock), so there is nothing to do.
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
