"""Reading a contact file as rows of strings: CSV (any delimiter, UTF-8 with or without BOM,
cp1252, CRLF) or Excel `.xlsx`, streamed so a million rows never sit in memory."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

DEFAULT_MAX_BYTES = 500 * 1024 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE = 64 * 1024
csv.field_size_limit(1024 * 1024)


class TableError(ValueError):
    """The file cannot be read as a table of contacts (nothing was imported)."""


@dataclass
class TableSource:
    """A readable table: its header row, a fresh row iterator, and a size estimate."""

    path: Path
    kind: str  # "csv" or "xlsx"
    headers: list[str]
    estimated_rows: int
    encoding: str | None = None
    delimiter: str | None = None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number as a spreadsheet shows it, cells) of the data rows, header skipped."""
        if self.kind == "xlsx":
            rows = _xlsx_rows(self.path)
        else:
            rows = _csv_rows(self.path, self.encoding or "utf-8", self.delimiter or ",")
        next(rows, None)
        return rows


def _detect_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while block := handle.read(1024 * 1024):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:30] if line.strip()]
    if len(lines) > 1 and not sample.endswith("\n"):
        lines = lines[:-1]  # the sample may cut the last line
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for width in widths if width == widths[0])
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _has_content(row: list[str]) -> bool:
    """Whether a row has a cell that is not blank (= `any(cell.strip() for cell in row)`;
    most rows' first cell answers)."""
    return bool(row) and (bool(row[0].strip()) or any(map(str.strip, row)))


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding=encoding, newline="", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        for row in reader:
            if _has_content(row):
                yield reader.line_num, row


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            row = [_cell(value) for value in values]
            if any(cell.strip() for cell in row):
                yield number, row
    finally:
        workbook.close()


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(4 * 1024 * 1024):
            count += block.count(b"\n")
    return count


def open_table(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> TableSource:
    """Open a contact file, or raise `TableError` with a message for the organizer."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise TableError("The file could not be read.") from error
    if size == 0:
        raise TableError("The file is empty.")
    if size > max_bytes:
        raise TableError(
            f"The file is too large ({size // (1024 * 1024)} MB; the limit is "
            f"{max_bytes // (1024 * 1024)} MB). Split it into smaller files."
        )
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, size)
    if b"\x00" in head or head.startswith((b"%PDF", b"\x89PNG", b"\xd0\xcf\x11\xe0")):
        raise TableError("This is not a table: save it as CSV or Excel (.xlsx).")
    encoding = _detect_encoding(path)
    sample = head.decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(sample)
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    headers = next((row for row in reader if any(c.strip() for c in row)), None)
    if not headers:
        raise TableError("The file is empty.")
    if len(headers) < 2 and not _looks_like_single_phone_column(headers[0]):
        raise TableError(
            "This is not a table: no columns found (separate them with commas, semicolons "
            "or tabs, and put the column names on the first line)."
        )
    table = TableSource(path, "csv", [h.strip() for h in headers], 0, encoding, delimiter)
    table.estimated_rows = max(_count_lines(path) - 1, 0)
    if next(table.rows(), None) is None:
        raise TableError("The file has column names but no rows.")
    return table


def _looks_like_single_phone_column(header: str) -> bool:
    from ringround.people.headers import PHONE_FIELDS, guess_field

    return guess_field(header) in PHONE_FIELDS


def _open_xlsx(path: Path, size: int) -> TableSource:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise TableError("This is not a table: the file is not a readable Excel workbook.") \
            from error
    try:
        sheet = workbook.worksheets[0]
        estimated = max((sheet.max_row or 0) - 1, 0)
    finally:
        workbook.close()
    first = next(_xlsx_rows(path), None)
    if not first:
        raise TableError("The file is empty.")
    headers = first[1]
    while headers and not headers[-1].strip():
        headers.pop()
    table = TableSource(path, "xlsx", [h.strip() for h in headers], estimated)
    if next(table.rows(), None) is None:
        raise TableError("The file has column names but no rows.")
    if not estimated:
        table.estimated_rows = sum(1 for _ in table.rows())
    return table
