"""Hostile contact files: too many columns, oversized cells, workbooks that unpack a
thousandfold. Each is refused (or its bad row rejected) quickly, in bounded memory."""

from __future__ import annotations

import csv
import time
import tracemalloc
import zipfile

import pytest
from sqlalchemy import select

from ringround.models import Contact
from ringround.people.reader import TableError, check_upload, open_table
from tests.core.people.conftest import refused, report_lines, said

PHONES = ["+33612345601", "+33612345602", "+33612345603", "+33612345604", "+33612345605"]


def _measure(call):
    """(result or raised error, seconds, peak traced bytes) of `call()`."""
    tracemalloc.start()
    began = time.monotonic()
    try:
        result = call()
    except TableError as error:
        result = error
    finally:
        seconds = time.monotonic() - began
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, seconds, peak


def test_a_csv_of_10001_columns_is_refused_with_a_message_in_little_memory(tmp_path):
    path = tmp_path / "wide.csv"
    columns = 10_001
    path.write_text(",".join(["phone"] + [f"c{i}" for i in range(columns - 1)]) + "\n"
                    + ",".join(["+33612345601"] + ["x"] * (columns - 1)) + "\n")
    error, seconds, peak = _measure(lambda: open_table(path))
    assert isinstance(error, TableError)
    assert said(error).startswith("The file has 10,001 columns; the limit is 300.")
    assert seconds < 2 and peak < 20 * 1024 * 1024


def test_the_column_limit_is_a_setting(tmp_path):
    path = tmp_path / "five.csv"
    path.write_text("phone,a,b,c,d\n+33612345601,1,2,3,4\n")
    assert len(open_table(path).headers) == 5
    with refused("5 columns; the limit is 4"):
        open_table(path, max_columns=4)


def _write_rows(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("length", [200_000, 2_000_000])  # the second: over the old 1 MB limit
def test_an_oversized_cell_rejects_its_row_and_the_rest_is_imported(org, tmp_path, workers,
                                                                     length):
    from ringround.extensions import db
    from ringround.people.importer import import_contacts

    path = tmp_path / "long_cell.csv"
    rows = [["first_name", "phone", "notes"]]
    rows += [[f"P{i}", phone, "short"] for i, phone in enumerate(PHONES)]
    rows[2][2] = "y" * length  # spreadsheet row 3
    _write_rows(path, rows)
    report = tmp_path / "report.csv"
    summary, _ = import_contacts(db.session, org.id, path, report_path=report,
                                 workers=workers)
    assert (summary.created, summary.rejected) == (4, 1)
    names = set(db.session.scalars(select(Contact.first_name)
                                   .where(Contact.organization_id == org.id)))
    assert names == {"P0", "P2", "P3", "P4"}
    assert report_lines(report) == [{"row": "3", "status": "rejected",
                      "reason": "a cell is longer than 10,000 characters"}]


def test_a_multiline_quoted_cell_under_the_limit_still_reads(tmp_path):
    path = tmp_path / "quoted.csv"
    _write_rows(path, [["phone", "notes"], [PHONES[0], "line one\nline two"],
                       [PHONES[1], "z" * 10_000], [PHONES[2], "z" * 10_001], [PHONES[3], "ok"]])
    rows = [(number, cells if isinstance(cells, list) else cells.reason)
            for number, cells in open_table(path).rows()]
    too_long = (("cell_too_long", {"limit": 10_000}),)
    assert rows == [(3, [PHONES[0], "line one\nline two"]), (4, [PHONES[1], "z" * 10_000]),
                    (5, too_long), (6, [PHONES[3], "ok"])]


def test_an_xlsx_with_an_oversized_cell_rejects_that_row(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phone", "notes"])
    sheet.append([PHONES[0], "x" * 10_001])
    sheet.append([PHONES[1], "fine"])
    path = tmp_path / "long.xlsx"
    workbook.save(path)
    rows = [(number, cells if isinstance(cells, list) else cells.reason)
            for number, cells in open_table(path).rows()]
    assert rows == [(2, (("cell_too_long", {"limit": 10_000}),)), (3, [PHONES[1], "fine"])]


def _xlsx_bomb(path, rows: int, dimension: str | None = None):
    """A valid workbook whose one sheet is the same row over and over (compresses ~1000:1)."""
    from openpyxl import Workbook

    Workbook().save(path)  # the workbook's other parts, then its sheet replaced
    row = ('<row><c t="inlineStr"><is><t>+33612345601</t></is></c>'
           '<c t="inlineStr"><is><t>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</t></is></c></row>')
    head = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxml'
            'formats.org/spreadsheetml/2006/main">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "") + "<sheetData>")
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                target.writestr(name, data)
        with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            block = (row * 1000).encode()
            for _ in range(rows // 1000):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")


def test_an_xlsx_bomb_is_refused_from_its_zip_directory_quickly(tmp_path):
    path = tmp_path / "bomb.xlsx"
    _xlsx_bomb(path, 1_000_000)  # ~180 MB of sheet in well under 1 MB
    packed = path.stat().st_size
    assert packed < 2 * 1024 * 1024
    for call in (lambda: check_upload(path), lambda: open_table(path)):
        error, seconds, peak = _measure(call)
        assert isinstance(error, TableError), error
        assert "unpacks to" in said(error) and "hostile file" in said(error)
        assert seconds < 1 and peak < 5 * 1024 * 1024


def test_an_xlsx_declaring_too_many_columns_is_refused_before_reading(tmp_path):
    path = tmp_path / "wide.xlsx"
    _xlsx_bomb(path, 1000, dimension="A1:XFD1048576")
    error, seconds, _peak = _measure(lambda: open_table(path))
    assert said(error).startswith("The file has 16,384 columns; the limit is 300.")
    assert seconds < 1


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with refused("not a readable Excel workbook"):
        check_upload(path)
