"""Turning one raw row into clean contact data: the CPU-heavy part of an import.

Pure functions without Flask or the database, so an import can run them in a pool of worker
processes (`normalize_chunk`) while the main process merges and writes.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

from ringround.people.contact_values import (
    MONTH_FIRST_REGIONS,
    TEXT_LIMITS,
    Memo,
    clean_email,
    clean_text,
    household_hasher,
    household_key,
    keyed_household,
    normalize_country,
    normalize_language,
    parse_birth_date,
    split_full_name,
    split_tags,
)
from ringround.people.headers import CUSTOM_PREFIX, OPT_OUT_FIELDS, PHONE_FIELDS, is_opt_out
from ringround.people.reader import TableSource
from ringround.phones import ParsedPhone, PhoneError, parse_phone, time_zone_for

CONTACT_FIELDS = ("first_name", "last_name", "email", "street", "postcode", "city", "country",
                  "language", "date_of_birth", "time_zone")
MAX_LENGTHS = TEXT_LIMITS  # one table: the import, organizers' edits, callers' edits
_SPLIT_NUMBERS = re.compile(r"\s*[/|\n]\s*|\s+(?:or|ou|eller|of)\s+", re.IGNORECASE)
WORKER_NICENESS = 5  # how much lower a worker's priority is than the importer's



@dataclass(frozen=True)
class NormalizeConfig:
    """What a worker needs to clean rows: the column mapping, default region, keys."""

    mapping: tuple[str, ...]
    default_region: str | None
    household_secret: bytes
    month_first: bool = False


# What `normalize_row` makes of a row, as plain tuples: the importing process unpickles a
# million of them (tuples load four times faster than dataclass instances), and a new
# contact's insert row is its `values` behind its ids, without copying.
#   clean:    (row, values, phones, tags, custom, household_key, warnings, opted_out),
#             where `values` holds CONTACT_FIELDS in order, each phone is
#             (e164, extension, label, is_mobile, country) and `opted_out` is true when an
#             opt-out column of the file says so;
#   rejected: (row, remarks).
# A remark is (code, values): what the report says about a row, worded only when someone reads
# it, in their language (`import_words`: every code and its words). Only rows with remarks
# make any.
Remark = tuple[str, dict[str, str | int]]
Phone = tuple[str, str | None, str, bool, str | None]
CleanRow = tuple[int, tuple, tuple[Phone, ...], tuple[str, ...], dict[str, str] | None,
                 str | None, tuple[Remark, ...], bool]
RejectedRow = tuple[int, tuple[Remark, ...]]
NO_PHONE: tuple[Remark, ...] = (("no_phone", {}),)


def _label(column: str, parsed: ParsedPhone) -> str:
    if column == "mobile":
        return "mobile"
    if column == "landline":
        return "landline"
    return "mobile" if parsed.is_mobile else "landline"


_CLEAN_TEXT = {name: Memo(lambda value, limit=MAX_LENGTHS[name]: clean_text(value, limit))
               .__getitem__ for name in ("first_name", "last_name", "postcode", "city")}
_country_of = Memo(normalize_country).__getitem__
_tags_of = Memo(split_tags).__getitem__


class _Plan:
    """A column mapping sorted out once per import instead of once per cell: which columns
    hold contact fields, numbers, tags and custom fields; and the household key's hasher."""

    __slots__ = ("config", "fields", "phones", "tags", "custom", "optouts", "hasher")

    # phones: (column, target, extension column or -1): an `extension` column belongs to the
    # phone column before it.

    def __init__(self, config: NormalizeConfig):
        self.config = config
        self.fields: list[tuple[int, str]] = []
        self.phones: list[tuple[int, str, int]] = []
        self.tags: list[int] = []
        self.custom: list[tuple[int, str]] = []
        self.optouts: list[tuple[int, str]] = []  # opt-out columns (OPT_OUT_FIELDS)
        for index, target in enumerate(config.mapping):
            if target == "ignore":
                continue
            if target in PHONE_FIELDS:
                self.phones.append((index, target, -1))
            elif target == "extension":
                if self.phones and self.phones[-1][2] < 0:
                    self.phones[-1] = (*self.phones[-1][:2], index)
            elif target == "tags":
                self.tags.append(index)
            elif target in OPT_OUT_FIELDS:
                self.optouts.append((index, target))
            elif target.startswith(CUSTOM_PREFIX):
                self.custom.append((index, target[len(CUSTOM_PREFIX):]))
            else:
                self.fields.append((index, target))
        self.hasher = household_hasher(config.household_secret)


_plan: _Plan | None = None


def _plan_for(config: NormalizeConfig) -> _Plan:
    """The plan of `config`, kept for the next row (imports in web threads may interleave:
    each gets the plan of its own config)."""
    global _plan
    plan = _plan
    if plan is None or plan.config is not config:
        plan = _plan = _Plan(config)
    return plan


# A cell holding one number, surely: no separator (`/`, `|`, a line break, " or ") can be in it.
_ONE_NUMBER = re.compile(r"\+?[\d \-.()\u00a0]+")


def normalize_row(row_no: int, cells: list[str], config: NormalizeConfig
                  ) -> CleanRow | RejectedRow:
    """Clean one row, or say why it cannot be imported."""
    plan = _plan_for(config)
    count = len(cells)  # a short row: its cells; a long one: the mapped ones
    values = _mapped_values(plan, cells, count)
    warnings: list[Remark] = []
    fields: dict[str, object] = {}
    country = _country(values, fields, warnings)
    region = country or config.default_region
    phones, first_parsed, errors = _phones(_phone_cells(plan, cells, count), region)
    if not phones:
        return row_no, tuple(errors) if errors else NO_PHONE
    warnings.extend(("number_skipped", values) for _code, values in errors)
    _names_and_address(values, fields)
    _email(values, fields, warnings)
    _language(values, fields, warnings)
    _date_of_birth(values, fields, warnings, region in MONTH_FIRST_REGIONS)
    zone = time_zone_for(first_parsed, country, values.get("postcode"))
    if zone:
        fields["time_zone"] = zone
    key = keyed_household(plan.hasher, values.get("household", ""), values.get("street", ""),
                          values.get("postcode", ""), values.get("city", ""))
    opted_out = any(index < count and is_opt_out(target, cells[index])
                    for index, target in plan.optouts)
    return (row_no, tuple(map(fields.get, CONTACT_FIELDS)), tuple(phones),
            _tags(plan, cells, count), _custom(plan, cells, count) or None, key,
            tuple(warnings), opted_out)


def _mapped_values(plan: _Plan, cells: list[str], count: int) -> dict[str, str]:
    """The contact fields' cells, stripped; the first column mapped to a field wins."""
    values: dict[str, str] = {}
    for index, target in plan.fields:
        if index < count and target not in values:
            cell = cells[index].strip()
            if cell:
                values[target] = cell
    return values


def _phone_cells(plan: _Plan, cells: list[str], count: int) -> list[tuple[str, str]]:
    """(column, number as written) of each number: a cell may hold several (`/`, `or`…),
    an extension column adds to the number before it."""
    phone_cells: list[tuple[str, str]] = []
    for index, target, extension_index in plan.phones:
        cell = cells[index].strip() if index < count else ""
        if not cell:
            continue
        if 0 <= extension_index < count and (extension := cells[extension_index].strip()):
            phone_cells.append((target, f"{cell} x{extension}"))
        elif _ONE_NUMBER.fullmatch(cell):
            phone_cells.append((target, cell))
        else:
            phone_cells.extend((target, part) for part in _numbers_in(cell))
    return phone_cells


def _numbers_in(cell: str) -> list[str]:
    parts = [part for part in _SPLIT_NUMBERS.split(cell) if part]
    if any(sum(map(str.isdigit, part)) < 6 for part in parts):
        return [cell]  # not a list of numbers ("n/a", "06 12 / 34")
    return parts


def _tags(plan: _Plan, cells: list[str], count: int) -> tuple[str, ...]:
    tags: tuple[str, ...] = ()
    several = False  # tags from several columns: their union may repeat one
    for index in plan.tags:
        if index < count and (cell := cells[index].strip()):
            several = bool(tags)
            tags = (*tags, *_tags_of(cell)) if tags else _tags_of(cell)
    return tuple(dict.fromkeys(tags)) if several else tags


def _custom(plan: _Plan, cells: list[str], count: int) -> dict[str, str]:
    custom: dict[str, str] = {}
    for index, key in plan.custom:
        if index < count and (cell := cells[index].strip()):
            custom[key] = cell
    return custom


def _phones(phone_cells: list[tuple[str, str]], region: str | None
            ) -> tuple[list[Phone], ParsedPhone | None, list[Remark]]:
    """The row's numbers parsed (each once), the first one parsed, and why others were not."""
    phones: list[Phone] = []
    first_parsed: ParsedPhone | None = None
    errors: list[Remark] = []
    for column, raw in phone_cells:
        parsed = parse_phone(raw, region)
        if isinstance(parsed, PhoneError):
            errors.append(("bad_phone", parsed.details()))
            continue
        if first_parsed is None:
            first_parsed = parsed
        elif any(phone[0] == parsed.e164 for phone in phones):
            continue
        phones.append((parsed.e164, parsed.extension, _label(column, parsed), parsed.is_mobile,
                       parsed.country))
    return phones, first_parsed, errors


def _country(values: dict[str, str], fields: dict, warnings: list[Remark]) -> str | None:
    if "country" not in values:
        return None
    country = _country_of(values["country"])
    if country:
        fields["country"] = country
    else:
        warnings.append(("unknown_country", {"value": values["country"]}))
    return country


def _names_and_address(values: dict[str, str], fields: dict) -> None:
    if "full_name" in values and not ("first_name" in values or "last_name" in values):
        values["first_name"], values["last_name"] = split_full_name(values["full_name"])
    for name in ("first_name", "last_name", "postcode", "city"):
        if values.get(name):
            fields[name] = _CLEAN_TEXT[name](values[name])
    if values.get("street"):
        fields["street"] = clean_text(values["street"], MAX_LENGTHS["street"])


def _email(values: dict[str, str], fields: dict, warnings: list[Remark]) -> None:
    if "email" in values:
        email = clean_email(values["email"])
        if email:
            fields["email"] = email
        else:
            warnings.append(("invalid_email", {"value": values["email"]}))


def _language(values: dict[str, str], fields: dict, warnings: list[Remark]) -> None:
    if "language" in values:
        language = normalize_language(values["language"])
        if language:
            fields["language"] = language
        else:
            warnings.append(("unknown_language", {"value": values["language"]}))


def _date_of_birth(values: dict[str, str], fields: dict, warnings: list[Remark],
                   month_first: bool) -> None:
    if "date_of_birth" in values:
        born = parse_birth_date(values["date_of_birth"], month_first)
        if born:
            fields["date_of_birth"] = born
        else:
            warnings.append(("invalid_birth_date", {"value": values["date_of_birth"]}))


_CONFIG: NormalizeConfig | None = None


def init_worker(config: NormalizeConfig) -> None:
    """Pool initializer: keep the config in the worker."""
    global _CONFIG
    _CONFIG = config
    if multiprocessing.parent_process() is not None:
        gc.disable()  # a worker's objects die with each chunk (see importer.py)
        # The importing process (merge and writes) is the critical path: with a core per
        # worker plus the importer, the workers yield to it and take the time it leaves
        # (they run ahead of it, with chunks in flight). Web requests come first, too.
        os.nice(WORKER_NICENESS)


def normalize_chunk(chunk: list[tuple[int, list[str]]]) -> list[CleanRow | RejectedRow]:
    """Clean a chunk of (row number, cells) in a worker process."""
    assert _CONFIG is not None
    return [normalize_row(row_no, cells, _CONFIG) if cells.__class__ is list
            else (row_no, cells.reason) for row_no, cells in chunk]


def chunks(rows: Iterator[tuple[int, list[str]]], size: int
           ) -> Iterator[list[tuple[int, list[str]]]]:
    """Rows in lists of `size`."""
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def share_of_chunks(rows: Iterator[tuple[int, list[str]]], size: int, share: int, shares: int
                    ) -> Iterator[tuple[int, list[tuple[int, list[str]]]]]:
    """(number, chunk) of the chunks numbered `share`, `share + shares`, … of
    `chunks(rows, size)`, for a worker process that reads a CSV file itself: every row must
    be parsed to know where rows end (a quoted cell may hold line breaks), but the other
    shares' rows are only counted, not kept."""
    number, count, chunk = 0, 0, []
    mine = share == 0
    for item in rows:
        if mine:
            chunk.append(item)
        count += 1
        if count == size:
            if mine:
                yield number, chunk
                chunk = []
            number += 1
            count = 0
            mine = number % shares == share
    if mine and chunk:
        yield number, chunk


WORKER_DONE = "done"
WORKER_FAILED = "failed"


def read_and_clean(table: TableSource, config: NormalizeConfig, chunk_rows: int,
                   worker: int, workers: int, out) -> None:
    """A worker process's part of a CSV import: it reads the whole file (the same rows and
    row numbers as the importer would) and cleans every `workers`-th chunk from the
    `worker`-th, putting (a placeholder per row, cleaned chunk) on `out`, then
    `WORKER_DONE`; or `(WORKER_FAILED, traceback)`."""
    try:
        init_worker(config)
        for _number, chunk in share_of_chunks(table.rows(), chunk_rows, worker, workers):
            results = normalize_chunk(chunk)
            _put(out, ([None] * len(chunk), results))  # the report needs no cells
        _put(out, WORKER_DONE)
    except BaseException:  # noqa: BLE001 - anything, as text: the importer raises it
        _put(out, (WORKER_FAILED, traceback.format_exc()))


def _put(out, message) -> None:
    """Put `message` on the importer's queue, waiting while it is full; exit if the
    importer died (a worker process killed with kill -9 would leave this one waiting for
    ever, its queue never read)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            out.put(message, timeout=1.0)
            return
        except queue.Full:
            if parent is not None and not parent.is_alive():
                os._exit(1)


# The field normalizers live in contact_values; importers of this module find them here too.
__all__ = [
    "CONTACT_FIELDS", "NO_PHONE", "WORKER_DONE", "WORKER_FAILED", "CleanRow", "NormalizeConfig",
    "Phone", "RejectedRow", "Remark", "chunks", "household_key", "init_worker", "normalize_chunk",
    "normalize_country", "normalize_language", "normalize_row", "parse_birth_date",
    "read_and_clean", "share_of_chunks", "split_full_name",
]
