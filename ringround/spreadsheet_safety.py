"""Cells that a spreadsheet would run as a formula, made inert for every file the app writes.

OWASP's guidance for CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote, which spreadsheets show as plain text. Phone columns are
the one exception: their numbers are validated E.164 (`+33612345678`), a form no spreadsheet
runs as anything but a number, and organizers need them readable; a phone cell that is not
plain E.164 is neutralized like any other.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The phone columns of the app's own downloads (contacts export, operation results), and
# of the export profiles of other tools (ringround/people/crm_export.py).
PHONE_COLUMNS = frozenset({"phone", "phone_1", "phone_2", "phone_3", "can2_phone",
                           "phone_number", "mobile_number", "Home Phone", "Cell Phone",
                           "alt_phone"})
_E164 = re.compile(r"\+[1-9]\d{6,14}( x\d{1,10})?")


def neutralize(value: object) -> object:
    """`value` with a leading quote when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_rows(rows: Iterable[list], phone_columns: Collection[str] = PHONE_COLUMNS
              ) -> Iterator[list]:
    """`rows` (the first one being the header) with every cell neutralized, except plain
    E.164 numbers in the columns named in `phone_columns`."""
    phones: set[int] = set()
    for n, row in enumerate(rows):
        if n == 0:
            phones = {i for i, name in enumerate(row) if name in phone_columns}
        yield [value if i in phones and isinstance(value, str) and _E164.fullmatch(value)
               else neutralize(value) for i, value in enumerate(row)]
