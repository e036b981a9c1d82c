"""CSV downloads written a piece at a time."""

from __future__ import annotations

import csv
import io

from ringround.csv_stream import csv_chunks


def test_pieces_join_into_the_same_csv_as_one_write():
    rows = [["id", "name", "note"]] + [[i, f"Person {i}", 'says "hi",\nthen leaves']
                                       for i in range(500)]
    pieces = list(csv_chunks(rows, size=1000))
    assert len(pieces) > 10 and all(len(p) < 1000 + 200 for p in pieces)
    whole = io.StringIO()
    csv.writer(whole).writerows(rows)
    assert b"".join(pieces).decode("utf-8") == whole.getvalue()


def test_a_bom_comes_first_once_and_nothing_comes_of_no_rows():
    pieces = list(csv_chunks([["é"], ["ü"]], bom=True, size=1))
    assert pieces[0].startswith("\ufeff".encode()) and b"".join(pieces).count(b"\xef\xbb\xbf") == 1
    assert list(csv_chunks([])) == []
