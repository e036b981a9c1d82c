"""Reading a contact file as rows of strings: CSV (any delimiter, UTF-8 with or without BOM,
cp1252, CRLF) or Excel `.xlsx`, streamed so a million rows never sit in memory."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from ringround.people.headers import PHONE_FIELDS, guess_field
from ringround.people.vcard import card_row, cards_of, table_shape

DEFAULT_MAX_BYTES = 500 * 1024 * 1024
# Hostile files: a header of 10,001 columns, a cell of megabytes, an XLSX that unpacks a
# thousandfold. The defaults are `IMPORT_MAX_COLUMNS` and `IMPORT_MAX_CELL_CHARS`.
MAX_COLUMNS = 300
MAX_CELL_CHARS = 10_000
MAX_XLSX_UNPACKED = 1024 * 1024 * 1024  # all members of a workbook, unpacked
MAX_XLSX_RATIO = 100  # unpacked / packed, per member (real workbooks: 5-20)
_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE = 64 * 1024
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)?\d*(?::([A-Z]+)(\d+))?\"")


class TableError(ValueError):
    """The file cannot be read as a table of contacts (nothing was imported), or its import
    job failed (`stopped`, `interrupted`). `kind` says why and `values` its figures; people
    read it worded in their language (`import_words.FILE_PROBLEMS`), `str()` is the kind."""

    def __init__(self, kind: str, **values: int):
        super().__init__(f"{kind} {values}" if values else kind)
        self.kind, self.values = kind, values

    def stored(self) -> str:
        """As an import job keeps it (`ImportJob.message`), worded when someone reads it."""
        return json.dumps([self.kind, self.values])


class CellTooLong(tuple):
    """In place of a row's cells, `(limit,)`: the row has a cell over the limit and is
    rejected with `reason`, the report's remarks (a class, not one object: rows are pickled
    to worker processes)."""

    __slots__ = ()

    @property
    def reason(self) -> tuple[tuple[str, dict[str, int]], ...]:
        return (("cell_too_long", {"limit": self[0]}),)


@dataclass
class TableSource:
    """A readable table: its header row, a fresh row iterator, and a size estimate."""

    path: Path
    kind: str  # "csv", "xlsx" or "vcard" (a .vcf file or a zip of them)
    headers: list[str]
    estimated_rows: int
    encoding: str | None = None
    delimiter: str | None = None
    max_cell: int = MAX_CELL_CHARS
    # Columns of the same value in every row, after the file's own (a vCard import's
    # consent source and purpose); `with_constants` adds them.
    constants: tuple[str, ...] = ()

    def with_constants(self, columns: dict[str, str]) -> TableSource:
        """This table with columns of one value in every row (header → value) added."""
        return replace(self, headers=self.headers[:len(self.headers) - len(self.constants)]
                       + list(columns), constants=tuple(columns.values()))

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number as a spreadsheet shows it, cells) of the data rows, header skipped.
        A row with a cell over `max_cell` characters comes as (row number, `CellTooLong`).
        A vCard file's row number is the card's place in the file."""
        if self.constants:
            return ((number, cells if cells.__class__ is CellTooLong
                     else cells + list(self.constants))
                    for number, cells in replace(self, constants=()).rows())
        if self.kind == "vcard":
            return _vcard_rows(self.path, self.headers, self.max_cell)
        if self.kind == "xlsx":
            rows = _xlsx_rows(self.path, self.max_cell)
        else:
            rows = _csv_rows(self.path, self.encoding or "utf-8", self.delimiter or ",",
                             self.max_cell)
        next(rows, None)
        return rows



def _vcard_rows(path: Path, headers: list[str], max_cell: int = MAX_CELL_CHARS
                ) -> Iterator[tuple[int, list[str]]]:
    for card in cards_of(path):
        row = card_row(card, headers)
        yield card.number, (CellTooLong((max_cell,)) if max(map(len, row)) > max_cell
                            else row)


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


def _csv_rows(path: Path, encoding: str, delimiter: str, max_cell: int = MAX_CELL_CHARS
              ) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file. The csv module itself stops at a cell over `max_cell`
    (no cost per row); its reader then goes on at the next line, so only that row is lost."""
    csv.field_size_limit(max_cell)  # per process; every import reads with the same setting
    with path.open(encoding=encoding, newline="", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        while True:
            try:
                for row in reader:
                    if _has_content(row):
                        yield reader.line_num, row
            except csv.Error as error:
                if "field limit" not in str(error):
                    raise
                yield reader.line_num, CellTooLong((max_cell,))
                continue
            return


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


def _xlsx_rows(path: Path, max_cell: int = MAX_CELL_CHARS) -> Iterator[tuple[int, list[str]]]:
    # Here, not at the top: only .xlsx files need openpyxl, and every import worker loads
    # this module (through people.normalize): about 0.5 s and its memory, per process.
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            row = [_cell(value) for value in values]
            if any(cell.strip() for cell in row):
                if max(map(len, row)) > max_cell:
                    yield number, CellTooLong((max_cell,))
                else:
                    yield number, row
    finally:
        workbook.close()


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(4 * 1024 * 1024):
            count += block.count(b"\n")
    return count


def check_upload(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The cheap checks of a file, fit for a web request (size, first bytes, a zip's
    directory, never its contents): its kind, `csv`, `xlsx` or `vcard` (a .vcf file, or a
    zip of .vcf files), or `TableError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise TableError("unreadable") from error
    if size == 0:
        raise TableError("empty")
    if size > max_bytes:
        raise TableError("too_large", size=size // (1024 * 1024),
                         limit=max_bytes // (1024 * 1024))
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    if head.startswith(b"PK\x03\x04"):
        return _check_zip(path)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:11].upper() == b"BEGIN:VCARD":
        return "vcard"
    if b"\x00" in head or head.startswith((b"%PDF", b"\x89PNG", b"\xd0\xcf\x11\xe0")):
        raise TableError("not_a_table")
    return "csv"


def _check_zip(path: Path) -> str:
    """A workbook (`xlsx`) or a zip of .vcf files (`vcard`), refused when it unpacks to too
    much (a zip bomb), from its zip directory alone. The declared sizes are binding: Python's
    zipfile never unpacks a member past them."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise TableError("not_a_workbook_nor_vcards") from error
    if any(member.filename == "xl/workbook.xml" for member in members):
        kind = "xlsx"
    elif any(member.filename.lower().endswith(".vcf") for member in members):
        kind = "vcard"
    else:
        raise TableError("not_a_workbook_nor_vcards")
    unpacked = sum(member.file_size for member in members)
    ratio = max((member.file_size / max(member.compress_size, 1) for member in members
                 if member.file_size > 1024 * 1024), default=0)
    if unpacked > MAX_XLSX_UNPACKED or ratio > MAX_XLSX_RATIO:
        raise TableError("workbook_too_big" if kind == "xlsx" else "zip_too_big",
                         size=unpacked // (1024 * 1024))
    return kind


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _xlsx_dimension(path: Path) -> tuple[int, int] | None:
    """(columns, rows) the first sheet declares in its `<dimension>`, read from its first
    kilobytes only; None when it declares none."""
    with zipfile.ZipFile(path) as archive:
        sheets = sorted(name for name in archive.namelist()
                        if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name))
        if not sheets:
            return None
        sheets.sort(key=lambda name: int(re.sub(r"\D", "", name)))
        with archive.open(sheets[0]) as handle:
            head = handle.read(_SAMPLE)
    match = _DIMENSION.search(head)
    if not match:
        return None
    if match.group(2):
        return _column_number(match.group(2).decode()), int(match.group(3))
    return (_column_number(match.group(1).decode()) if match.group(1) else 1), 1


def _too_many_columns(count: int, max_columns: int, at_least: bool = False) -> TableError:
    return TableError("over_many_columns" if at_least else "too_many_columns", count=count,
                      limit=max_columns)


def open_table(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES,
               max_columns: int = MAX_COLUMNS, max_cell: int = MAX_CELL_CHARS) -> TableSource:
    """Open a contact file, or raise `TableError` with a message for the organizer."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    kind = check_upload(path, max_bytes)
    if kind == "xlsx":
        return _open_xlsx(path, size, max_columns, max_cell)
    if kind == "vcard":
        return _open_vcard(path, max_cell)
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
    encoding = _detect_encoding(path)
    sample = head.decode(encoding, errors="replace")
    csv.field_size_limit(max(max_cell, _SAMPLE + 1))  # a long cell is the rows' business
    delimiter = _sniff_delimiter(sample)
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    headers = next((row for row in reader if any(c.strip() for c in row)), None)
    if not headers:
        raise TableError("empty")
    if len(headers) > max_columns:  # a header longer than the sample is cut short
        raise _too_many_columns(len(headers), max_columns, len(head) == _SAMPLE and
                                "\n" not in sample.lstrip()[:-1])
    if len(headers) < 2 and not _looks_like_single_phone_column(headers[0]):
        raise TableError("no_columns")
    table = TableSource(path, "csv", [h.strip() for h in headers], 0, encoding, delimiter,
                        max_cell)
    table.estimated_rows = max(_count_lines(path) - 1, 0)
    if next(table.rows(), None) is None:
        raise TableError("no_rows")
    return table


def _open_vcard(path: Path, max_cell: int = MAX_CELL_CHARS) -> TableSource:
    try:
        headers, cards = table_shape(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise TableError("vcard_unreadable") from error
    if not cards:
        raise TableError("no_cards")
    return TableSource(path, "vcard", headers, cards, max_cell=max_cell)


def _looks_like_single_phone_column(header: str) -> bool:
    return guess_field(header) in PHONE_FIELDS


def _open_xlsx(path: Path, size: int, max_columns: int = MAX_COLUMNS,
               max_cell: int = MAX_CELL_CHARS) -> TableSource:
    # Here, not at the top: only .xlsx files need openpyxl, and every import worker loads
    # this module (through people.normalize): about 0.5 s and its memory, per process.
    from openpyxl import load_workbook

    try:
        dimension = _xlsx_dimension(path)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise TableError("not_a_workbook") from error
    if dimension and dimension[0] > max_columns:
        raise _too_many_columns(dimension[0], max_columns)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise TableError("not_a_workbook") from error
    try:
        sheet = workbook.worksheets[0]
        estimated = max((sheet.max_row or 0) - 1, 0)
    finally:
        workbook.close()
    first = next(_xlsx_rows(path, max_cell), None)
    if not first:
        raise TableError("empty")
    headers = list(first[1])
    while headers and not headers[-1].strip():
        headers.pop()
    if len(headers) > max_columns:
        raise _too_many_columns(len(headers), max_columns)
    table = TableSource(path, "xlsx", [h.strip() for h in headers], estimated, max_cell=max_cell)
    if next(table.rows(), None) is None:
        raise TableError("no_rows")
    if not estimated:
        table.estimated_rows = sum(1 for _ in table.rows())
    return table
