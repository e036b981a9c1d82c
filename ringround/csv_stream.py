"""CSV written a piece at a time, for downloads that must not be built whole in memory.

A download streams after its view has returned: the request's app context, its database
session and `current_user` are gone by then. `audited_csv` therefore reads through a session
of its own, takes only plain values, and writes the audit entry once the last piece has
been handed to the server; a stream that fails or that the client abandons records nothing
and leaves no connection or transaction behind.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ringround.spreadsheet_safety import safe_rows

CHUNK = 64 * 1024


def csv_chunks(rows: Iterable[list], *, bom: bool = False, size: int = CHUNK
               ) -> Iterator[bytes]:
    """UTF-8 CSV of `rows` in pieces of about `size` bytes (with a BOM first, for Excel),
    formulas neutralized (`safe_rows`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if bom:
        buffer.write("\ufeff")
    for row in safe_rows(rows):
        writer.writerow(row)
        if buffer.tell() >= size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def audited_csv(engine: Engine, rows: Callable[[Session], Iterable[list]],
                audit: Callable[[Session, int], object], *, bom: bool = False,
                size: int = CHUNK) -> Iterator[bytes]:
    """The CSV of `rows(session)` (a header, then data rows) in pieces, read through a
    session of its own; then `audit(session, data_rows)`, committed, once the server has
    taken the last piece. The session is closed however the stream ends (finished, failed,
    or closed early by the server when the client goes away), and only a stream sent whole
    is audited."""
    session = Session(engine)
    sent = False
    try:
        count = 0

        def counted() -> Iterator[list]:
            nonlocal count
            for count, row in enumerate(rows(session)):  # noqa: B007 (read after the loop)
                yield row

        yield from csv_chunks(counted(), bom=bom, size=size)
        # The read is over: end its transaction before writing, so that SQLite never has
        # to turn an old read snapshot into a write (which fails at once with "locked").
        session.rollback()
        audit(session, count)
        session.commit()
        sent = True
    finally:
        if not sent and session.in_transaction():
            # A cursor left half read (kept alive by the traceback of a failure) can hold a
            # SQLite read snapshot that a rollback does not end: such a connection would
            # serve stale reads and refuse writes ("database is locked") from the pool. It
            # is thrown away instead of going back.
            session.invalidate()
        else:
            session.close()
