"""The in-process write lock of SQLite writers (`ringround/queue/_tx.py`) is given back however
a writer's transaction ends, including when its connection is thrown away."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from ringround.queue import _tx


def _lock(db) -> threading.Lock:
    return _tx._lock_for(str(db.engine.url.database))


def test_a_writer_whose_connection_is_invalidated_gives_the_lock_back(db):
    writer = Session(db.engine)
    _tx.begin_write(writer)
    assert _lock(db).locked()
    writer.invalidate()  # what a failed download stream does with its connection
    assert not _lock(db).locked()


def test_a_writer_that_rolls_back_gives_the_lock_back(db):
    writer = Session(db.engine)
    _tx.begin_write(writer)
    writer.rollback()
    writer.close()
    assert not _lock(db).locked()
