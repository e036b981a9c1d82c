"""What an import did: its counts (`ImportSummary`) and its report CSV (`ImportReport`)."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from ringround.spreadsheet_safety import neutralize


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
    row number and reason only. The row's cells (names, addresses) are not copied: the
    organizer finds the row in their own file (docs/privacy.md, "Import reports")."""

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
        self.lines: list[tuple[int, str, str]] = []  # kept for tests and the CLI (capped)

        self._buffer: list[tuple[int, str, str]] = []

    def add(self, row: int, status: str, reason: str) -> None:
        self._buffer.append((row, status, reason))

    def flush(self) -> None:
        """Write the buffered lines of a chunk in row order."""
        self._buffer.sort(key=lambda line: line[0])
        for row, status, reason in self._buffer:
            if self.writer:
                # A reason may quote a cell of the uploaded row (a malformed email).
                self.writer.writerow((row, status, neutralize(reason)))
            if len(self.lines) < 10_000:
                self.lines.append((row, status, reason))
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
