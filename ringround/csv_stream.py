"""CSV written a piece at a time, for downloads that must not be built whole in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

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
