"""SQLite tuning for the length of an import: one connection held throughout, a bigger page
cache, and WAL checkpoints done from a thread of their own (`Checkpointer`)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ringround.models import Contact

SQLITE_CACHE_KIB = 128 * 1024  # the import's page cache: its unique indexes at ~1M rows
log = logging.getLogger("ringround.people.importer")  # the import's one log


class Checkpointer(threading.Thread):
    """Checkpoints an SQLite WAL from its own connection and thread, once after each commit
    of the import (whose connection has automatic checkpoints off meanwhile).

    An automatic checkpoint runs inside the commit that crosses its threshold: every commit
    of an import did, copying the pages it wrote into the database file and waiting for two
    fsyncs (12 s of 85 in 1M rows, 7 s of them waiting) while the workers stood idle. Here
    the import goes on writing while its previous commit is copied: a PASSIVE checkpoint
    never blocks the writer, nor the writer it. Durability is the same (the WAL is synced
    before each checkpoint, the database after). A failed checkpoint loses nothing, the
    frames stay in the WAL: it is logged, and the next checkpoint (or SQLite's automatic
    ones, back after the import) copies them.
    """

    def __init__(self, path: str):
        super().__init__(name="import-checkpointer", daemon=True)
        self.path = path
        self.wanted = threading.Event()
        self.stopping = False
        self.checkpoints = 0
        self.error: BaseException | None = None

    def request(self) -> None:
        """Checkpoint what has been committed so far (soon, in the thread)."""
        self.wanted.set()

    def stop(self) -> None:
        """A last checkpoint of everything committed, then the thread ends."""
        self.stopping = True
        self.wanted.set()
        self.join()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=15)

    def run(self) -> None:
        connection = self._connect()
        try:
            while True:
                self.wanted.wait()
                self.wanted.clear()
                stopping = self.stopping
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as error:
                    self.error = error
                    log.warning("import: WAL checkpoint failed (frames kept in the WAL): %s",
                                error)
                if stopping:
                    self._truncate(connection)
                    return
        finally:
            connection.close()


    def _truncate(self, connection) -> None:
        """Empty the WAL file once the import is done. During the import the WAL never
        starts over (the importer's next transaction begins before the checkpoint of its
        last one is over), so a big import leaves it large: ~1.4 GB for 1M rows. A
        TRUNCATE checkpoint waits for readers; this one gives up after a second (and
        leaves the file for SQLite to reuse) rather than hold up writers."""
        try:
            connection.execute("PRAGMA busy_timeout = 1000")
            busy, _frames, _copied = connection.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.info("import: WAL not truncated (readers were busy)")
        except sqlite3.Error as error:
            log.warning("import: WAL truncation failed (nothing lost): %s", error)


def wal_path(connection) -> str | None:
    """The database file of an SQLite connection in WAL mode, else None (memory, PostgreSQL)."""
    if connection.dialect.name != "sqlite":
        return None
    if connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
        return None
    return next((row[2] for row in connection.exec_driver_sql("PRAGMA database_list")
                 if row[1] == "main" and row[2]), None)


@contextmanager
def checkpoints_aside(connection) -> Iterator[Checkpointer | None]:
    """`connection`'s WAL checkpoints done by a `Checkpointer` for the duration (SQLite in
    WAL mode; None otherwise), its automatic checkpoints as they were afterwards."""
    path = wal_path(connection)
    if path is None:
        yield None
        return
    previous = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
    checkpointer = Checkpointer(path)
    checkpointer.start()
    try:
        yield checkpointer
    finally:
        checkpointer.stop()
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {int(previous)}")


class ImportWriter:
    """The import's session, and how it commits."""

    def __init__(self, session: Session, checkpointer: Checkpointer | None):
        self.session, self.checkpointer = session, checkpointer

    def commit(self) -> None:
        """Commit, then have the WAL checkpointed aside (SQLite)."""
        self.session.commit()
        if self.checkpointer is not None:
            self.checkpointer.request()


@contextmanager
def writing_session(session: Session) -> Iterator[ImportWriter]:
    """A session on one connection held for the whole import. A pooled session may get
    another connection after each commit; this way the SQLite tuning applies to the
    connection that writes, and that connection goes back to the pool as it was."""
    with session.get_bind(Contact.__mapper__).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            connection.commit()
        try:
            with checkpoints_aside(connection) as checkpointer:
                connection.commit()
                writer = Session(bind=connection)
                try:
                    yield ImportWriter(writer, checkpointer)
                finally:
                    writer.close()
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")
                connection.commit()
