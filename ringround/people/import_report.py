"""What an import did: its counts (`ImportSummary`) and its report CSV (`ImportReport`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ringround.people.normalize import Remark


@dataclass
class ImportSummary:
    """What an import did, in counts."""

    rows: int = 0
    created: int = 0
    merged: int = 0
    rejected: int = 0
    warnings: int = 0
    suppressed: int = 0
    kept_apart: int = 0  # shared an email with another person: a contact of their own
    households: int = 0
    phones: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ImportReport:
    """The report CSV: one line per rejected row and per row imported with a remark, with its
    row number and remarks only. The row's cells (names, addresses) are not copied: the
    organizer finds the row in their own file (docs/privacy.md, "Import reports").

    The file keeps each remark as its code and values (JSON): it is worded in the reader's
    language when read (`import_words.worded_rows`)."""

    COLUMNS = ("row", "status", "reason")

    def __init__(self, path: Path | None, headers: list[str] | None = None,
                 resume_at: int | None = None):
        """A new report at `path`; or, with `resume_at` (a size from `written()`), the
        report of an interrupted import, cut back to what its last commit had written."""
        self.path = path
        self.handle = None
        if path and resume_at is not None and path.exists():
            self.handle = path.open("r+", newline="", encoding="utf-8")
            self.handle.truncate(resume_at)
            self.handle.seek(resume_at)
        elif path:
            self.handle = path.open("w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.handle) if self.handle else None
        if self.writer and self.handle.tell() == 0:
            self.writer.writerow(self.COLUMNS)
        self.lines: list[tuple[int, str, Sequence[Remark]]] = []  # kept for tests (capped)

        self._buffer: list[tuple[int, str, Sequence[Remark]]] = []

    def add(self, row: int, status: str, remarks: Sequence[Remark]) -> None:
        self._buffer.append((row, status, remarks))

    def flush(self) -> None:
        """Write the buffered lines of a chunk in row order."""
        self._buffer.sort(key=lambda line: line[0])
        for row, status, remarks in self._buffer:
            if self.writer:
                self.writer.writerow((row, status, json.dumps(remarks, ensure_ascii=False)))
            if len(self.lines) < 10_000:
                self.lines.append((row, status, remarks))
        self._buffer.clear()

    def written(self) -> int:
        """The report's size so far, flushed to the file (a checkpoint's)."""
        if not self.handle:
            return 0
        self.handle.flush()
        return self.handle.tell()

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def read_report(path: Path) -> Iterator[tuple[str, str, list[Remark] | str]]:
    """(row, status, remarks) of each line of a report file; a report written before its
    remarks were codes gives its reason as text."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = csv.reader(handle)
        next(lines, None)  # the header
        for line in lines:
            row, status, reason = (*line, "", "")[:3]
            yield row, status, _remarks(reason)


def _remarks(cell: str) -> list[Remark] | str:
    if not cell.startswith("["):
        return cell
    try:
        return [(str(code), dict(values)) for code, values in json.loads(cell)]
    except (ValueError, TypeError):
        return cell
