"""Importing a contact file: read (streamed), clean (in worker processes), merge and write in
chunks with Core bulk statements (no ORM object per row).

Every row ends up created, merged into an earlier contact, or rejected with its row number and
reason in the report CSV; rows that import with a remark (a bad email dropped, a field that
differed from the existing contact) are listed in the report too.
"""

from __future__ import annotations

import csv
import gc
import itertools
import json
import logging
import multiprocessing
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from operator import itemgetter
from pathlib import Path
from queue import Empty
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ringround.models import (
    Contact,
    ContactPhone,
    CustomField,
    CustomFieldType,
    Household,
    OptOut,
    Organization,
    Tag,
    contact_tags,
    utcnow,
)
from ringround.optouts import optout_key, phone_hmac
from ringround.organizations import default_region as organization_region
from ringround.people.headers import (
    CUSTOM_PREFIX,
    auto_map,
    custom_key,
    has_phone_column,
    is_valid_target,
)
from ringround.people.merge import (
    conflict_message,
    email_household_key,
    household_secret,
    merge_fields,
    same_person,
)
from ringround.people.normalize import (
    CONTACT_FIELDS,
    WORKER_DONE,
    WORKER_FAILED,
    CleanRow,
    NormalizeConfig,
    Phone,
    RejectedRow,
    chunks,
    init_worker,
    normalize_chunk,
    parse_birth_date,
    read_and_clean,
)
from ringround.people.pg_copy import PgCopyWriter
from ringround.people.reader import DEFAULT_MAX_BYTES, TableError, TableSource, open_table
from ringround.queue.exclusions import contacts_changed
from ringround.spreadsheet_safety import neutralize

CHUNK_ROWS = 2000
BIG_CHUNK_ROWS = 5000
POOL_THRESHOLD = 20_000  # below this many rows, starting worker processes costs more
# A commit writes every page the transaction dirtied, and rows with random keys (numbers,
# emails, household hashes) dirty pages all over the unique indexes: committing every few
# seconds instead of every chunk halves the import's SQLite time. Other writers wait at
# most this long (plus a chunk) for the lock; readers never wait (WAL).
COMMIT_SECONDS = 3.0
SQLITE_CACHE_KIB = 128 * 1024  # the import's page cache: its unique indexes at ~1M rows
Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

_contacts = Contact.__table__
_phones = ContactPhone.__table__
_households = Household.__table__


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


_EMAIL = CONTACT_FIELDS.index("email")
_FIRST = CONTACT_FIELDS.index("first_name")
_NO_FIELDS = (None,) * len(CONTACT_FIELDS)
_BIRTH = CONTACT_FIELDS.index("date_of_birth")


class _Pending:
    """A contact to create in this chunk (the worker's tuples, copied only if merged into)."""

    __slots__ = ("row", "values", "phones", "tags", "custom", "household", "dnc",
                 "household_id")

    def __init__(self, row: int, values: tuple, phones: tuple[Phone, ...],
                 tags: tuple[str, ...], custom: dict | None, household: str | None, dnc: bool):
        self.row, self.values, self.phones, self.tags = row, values, phones, tags
        self.custom, self.household, self.dnc = custom, household, dnc
        self.household_id: int | None = None  # an existing household, when `household` is None


class _Incoming:
    """A row to merge into a contact already in the database."""

    __slots__ = ("row", "fields", "phones", "tags", "custom", "household", "warnings", "dnc")

    def __init__(self, row: int, values: tuple, phones: tuple[Phone, ...],
                 tags: tuple[str, ...], custom: dict | None, household: str | None,
                 warnings: list[str], dnc: bool):
        self.row, self.phones, self.tags, self.custom = row, phones, tags, custom or {}
        self.fields = _fields(values)
        self.household, self.warnings, self.dnc = household, warnings, dnc


def _fields(values) -> dict[str, Any]:
    return {name: value for name, value in zip(CONTACT_FIELDS, values, strict=True)
            if value not in (None, "")}


class _MergeState:
    """The in-memory indexes an import dedupes against (numbers, emails, households, tags)."""

    def __init__(self, session: Session, org_id: int, source: str, extra_tags: list[str],
                 report: ImportReport, summary: ImportSummary, custom_types: dict[str, str]):
        self.session, self.org_id, self.source = session, org_id, source[:120]
        self.report, self.summary = report, summary
        self.custom_types = custom_types
        self.extra_tags = tuple(extra_tags)
        # Per chunk: the chunk's numbers, emails and households already in the database
        # (`_load_indexes`), then what the chunk itself adds. Memory stays flat however big
        # the organization or the file; the unique indexes do the lookups.
        self.phone_index: dict[str, int] = {}
        # email -> the contacts with it, oldest first (a family may share one); and the first
        # name and household of those already in the database, for `same_person`
        self.email_index: dict[str, list[int]] = {}
        self.people: dict[int, tuple[str | None, int | None]] = {}
        self.household_secret = household_secret()
        self.households: dict[str, int] = {}
        self.tag_ids: dict[str, int] = dict(session.execute(
            select(Tag.name, Tag.id).where(Tag.organization_id == org_id)).all())
        self._tag_rows: dict[tuple[str, ...], tuple[int, ...]] = {}
        self.optouts: set[str] = set(session.scalars(
            select(OptOut.phone_hmac).where(OptOut.organization_id == org_id)))
        self.optout_key = optout_key() if self.optouts else b""
        connection = session.connection()
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self.dialect = connection.dialect
        # PostgreSQL: rows written by COPY and set-based statements (`pg_copy`)
        self.copier = (PgCopyWriter(connection.connection.driver_connection, org_id)
                       if connection.dialect.name == "postgresql" else None)

    def close(self) -> None:
        """Drop what the import set up on its connection (PostgreSQL's staging tables)."""
        if self.copier is not None:
            self.copier.close()

    # -- matching -----------------------------------------------------------------------

    def _is_suppressed(self, phones: tuple[Phone, ...]) -> bool:
        return any(phone_hmac(phone[0], self.optout_key) in self.optouts for phone in phones)

    def _coerce_custom(self, custom: dict[str, str], warnings: list[str]) -> dict[str, Any]:
        coerced_fields: dict[str, Any] = {}
        for key, value in custom.items():
            kind = self.custom_types.get(key, "text")
            coerced: Any = value
            if kind == CustomFieldType.NUMBER:
                try:
                    number = float(value.replace(",", ".").replace(" ", ""))
                    coerced = int(number) if number.is_integer() else number
                except ValueError:
                    coerced = None
            elif kind == CustomFieldType.BOOLEAN:
                coerced = {"yes": True, "y": True, "true": True, "1": True, "oui": True,
                           "ja": True, "no": False, "n": False, "false": False, "0": False,
                           "non": False, "nej": False, "nee": False}.get(value.strip().lower())
            elif kind == CustomFieldType.DATE:
                born = parse_birth_date(value)
                coerced = born.isoformat() if born else None
            if coerced is None:
                warnings.append(f"{key}: {value!r} is not a valid {kind}, ignored")
            else:
                coerced_fields[key] = coerced
        return coerced_fields

    def _lookup(self, table: str, columns: tuple[str, ...], key: str, values: list,
                *, in_org: bool = True, plain: bool = False) -> list[tuple]:
        """`columns` of the rows of `table` whose `key` is one of `values` (of this
        organization, if `in_org`), the values passed as one parameter: one statement text
        whatever their count (the driver's statement cache would otherwise keep a big
        prepared statement per distinct count). On SQLite the values are a JSON array that
        drives the join, one index seek each (three times faster than `IN (SELECT … FROM
        json_each(?))`, which first copies them into a temporary index); `plain` values
        (numbers, hex keys) need no JSON escaping. Only names of ours and the integer
        organization id are formatted into the SQL."""
        if not values:
            return []
        selected = ", ".join(f"{table}.{column}" for column in columns)
        org = f"{table}.organization_id = {int(self.org_id)} AND " if in_org else ""
        if self.mark == "?":
            sql = (f"SELECT {selected} FROM json_each(?) AS wanted "  # noqa: S608
                   f"CROSS JOIN {table} WHERE {org}{table}.{key} = wanted.value")
            param = '["' + '","'.join(values) + '"]' if plain else json.dumps(values)
        else:
            sql = f"SELECT {selected} FROM {table} WHERE {org}{key} = ANY(%s)"  # noqa: S608
            param = values
        cursor = self.session.connection().connection.cursor()
        try:
            cursor.execute(sql, (param,))
            return cursor.fetchall()
        finally:
            cursor.close()

    def _load_indexes(self, rows: list[CleanRow | RejectedRow]) -> None:
        """The chunk's numbers and emails already in the database. (Its households are
        looked up only if some are, when they are written: `_household_ids`.)"""
        clean = [row for row in rows if len(row) > 2]
        numbers = list({phone[0] for row in clean for phone in row[2]})
        emails = list({row[1][_EMAIL] for row in clean if row[1][_EMAIL]})
        self.phone_index = dict(self._lookup(
            "contact_phones", ("e164", "contact_id"), "e164", numbers, plain=True))
        # Oldest first. (No ORDER BY id here: SQLite would walk the whole organization's
        # contacts in id order instead of seeking the emails' index.)
        found = sorted(self._lookup("contacts", ("email", "id", "first_name", "household_id"),
                                    "email", emails), key=itemgetter(1))
        self.email_index = {}
        for email, contact_id, _first, _household in found:
            self.email_index.setdefault(email, []).append(contact_id)
        self.people = {contact_id: (first, household)
                       for _email, contact_id, first, household in found}
        # Contacts matched by number may then be matched by a later row's email.
        by_number = list(set(self.phone_index.values()) - self.people.keys())
        self.people.update((contact_id, (first, household)) for contact_id, first, household
                           in self._lookup("contacts", ("id", "first_name", "household_id"),
                                           "id", by_number))
        self.households = {}

    def _same_person_among(self, candidates: list[int], first_name: str | None,
                           pending: list[_Pending]) -> int | None:
        """The first of the contacts sharing an email who may be this person, or None."""
        for candidate in candidates:
            name = (pending[-candidate - 1].values[_FIRST] if candidate < 0
                    else self.people[candidate][0])
            if same_person(name, first_name):
                return candidate
        return None

    def _share_household(self, sharer: int, item: _Pending, email: str,
                         pending: list[_Pending], db_merges: dict[int, list[_Incoming]]
                         ) -> None:
        """Put `item` (a new contact with no address) in the household of `sharer`, who has
        the same email; a household keyed by the email if `sharer` has none yet."""
        if sharer < 0:
            first = pending[-sharer - 1]
            if first.household is None and first.household_id is None:
                first.household = email_household_key(self.household_secret, email)
            item.household, item.household_id = first.household, first.household_id
            return
        household_id = self.people[sharer][1]
        if household_id is not None:
            item.household_id = household_id
            return
        item.household = email_household_key(self.household_secret, email)
        # `_write_merges` gives `sharer` that household (it has none)
        db_merges.setdefault(sharer, []).append(_Incoming(
            item.row, _NO_FIELDS, (), (), None, item.household, [], False))

    def apply(self, raw: list[tuple[int, list[str]]],
              results: list[CleanRow | RejectedRow]) -> None:
        """Merge one chunk of cleaned rows (`raw`: one item per row read) and write it."""
        self._load_indexes(results)
        pending: list[_Pending] = []
        db_merges: dict[int, list[_Incoming]] = {}
        phone_index, email_index = self.phone_index, self.email_index
        summary, report, extra_tags = self.summary, self.report, self.extra_tags
        optouts, custom_types = self.optouts, self.custom_types
        rejected = 0
        for result in results:
            if len(result) == 2:
                rejected += 1
                report.add(result[0], "rejected", result[1])
                continue
            row, values, phones, tags, custom, household, found, opted_out = result
            warnings = list(found)
            if custom and custom_types:
                custom = self._coerce_custom(custom, warnings)
            if extra_tags:
                tags = tuple(dict.fromkeys(tags + extra_tags))
            dnc = opted_out or (bool(optouts) and self._is_suppressed(phones))
            match = None
            for phone in phones:
                match = phone_index.get(phone[0])
                if match is not None:
                    break
            email = values[_EMAIL]
            sharer = None  # another person with this email (a family address)
            if match is None and email:
                candidates = email_index.get(email)
                if candidates:
                    match = self._same_person_among(candidates, values[_FIRST], pending)
                    if match is None:
                        sharer = candidates[0]
            if match is not None and any(
                    phone_index.get(phone[0], match) != match for phone in phones):
                warnings.extend(f"number {phone[0]} belongs to another contact, not added"
                                for phone in phones if phone_index.get(phone[0], match) != match)
                kept = tuple(p for p in phones if phone_index.get(p[0], match) == match)
                for phone in phones:
                    phone_index.setdefault(phone[0], match)
                phones = kept
            if dnc:
                summary.suppressed += 1
            if match is None:
                match = -(len(pending) + 1)
                item = _Pending(row, values, phones, tags, custom, household, dnc)
                pending.append(item)
                summary.created += 1
                if sharer is not None:
                    summary.kept_apart += 1
                    warnings.append(self._kept_apart(sharer, values[_FIRST], household is not None,
                                                      pending))
                    if household is None:
                        self._share_household(sharer, item, email, pending, db_merges)
                    email_index[email].append(match)
            else:
                summary.merged += 1
                if match < 0:
                    self._merge_pending(pending[-match - 1], values, phones, tags, custom,
                                        household, dnc, warnings)
                else:
                    db_merges.setdefault(match, []).append(_Incoming(
                        row, values, phones, tags, custom, household, warnings, dnc))
            for phone in phones:
                phone_index.setdefault(phone[0], match)
            if email and email not in email_index:
                email_index[email] = [match]
            if warnings and match < 0:
                summary.warnings += 1
                report.add(row, "warning", "; ".join(warnings))
        summary.rejected += rejected
        summary.rows += len(results) - rejected
        self._write_new(pending)
        if db_merges:
            self._write_merges(db_merges)
        self.report.flush()

    def _kept_apart(self, sharer: int, first_name: str | None, own_household: bool,
                    pending: list[_Pending]) -> str:
        """The report's remark on a row kept apart from another person with its email."""
        if sharer < 0:
            other = pending[-sharer - 1]
            who = f"row {other.row} ({other.values[_FIRST]})"
        else:
            who = f"contact #{sharer} ({self.people[sharer][0]})"
        where = "its own address's household" if own_household else "the same household"
        return (f"same email as {who} but another first name ({first_name}): "
                f"kept as a separate contact, in {where}")

    @staticmethod
    def _merge_pending(target: _Pending, values: tuple, phones: tuple[Phone, ...],
                       tags: tuple[str, ...], custom: dict | None, household: str | None,
                       dnc: bool, warnings: list[str]) -> None:
        current, incoming = _fields(target.values), _fields(values)
        updates, conflicts = merge_fields(current, incoming)
        current.update(updates)
        target.values = tuple(current.get(name) for name in CONTACT_FIELDS)
        warnings.extend(conflict_message(name, current[name], incoming[name])
                        for name in conflicts)
        numbers = {phone[0] for phone in target.phones}
        target.phones = (*target.phones, *(p for p in phones if p[0] not in numbers))
        target.tags = tuple(dict.fromkeys(target.tags + tags))
        if custom:
            target.custom = {**custom, **(target.custom or {})}
        target.household = target.household or household
        target.dnc = target.dnc or dnc

    # -- writing ------------------------------------------------------------------------

    def _reserve_ids(self, table, count: int) -> list[int]:
        """Ids for `count` new rows of `table`, safe against concurrent writers: a sequence
        on PostgreSQL; on SQLite, the write lock is taken first (one writer at a time), so
        max(id) cannot move until the import commits."""
        connection = self.session.connection()
        name = table.name
        if connection.dialect.name == "postgresql":
            return list(connection.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) "  # noqa: S608
                f"FROM generate_series(1, {int(count)})").scalars())
        connection.exec_driver_sql(f"UPDATE {name} SET id = id WHERE id = -1")  # noqa: S608
        start = connection.exec_driver_sql(
            f"SELECT coalesce(max(id), 0) FROM {name}").scalar()  # noqa: S608
        return list(range(start + 1, start + 1 + count))

    def _bind(self, table, name: str, value):
        """`value` as the driver wants it for `table.name` (for values shared by many rows:
        processed once instead of once per row)."""
        processor = table.c[name].type._cached_bind_processor(self.dialect)
        return processor(value) if processor else value

    def _bulk_insert(self, table, columns: list[str], rows: list[tuple], *,
                     on_conflict: str = "") -> int:
        """executemany straight through the driver, of rows already bound (the hot path: no
        SQLAlchemy work per row; booleans and strings need none on either driver); returns
        how many rows it inserted."""
        if not rows:
            return 0
        if self.copier is not None and not on_conflict:
            return self.copier.insert(table.name, columns, rows)
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
               f"VALUES ({', '.join([self.mark] * len(columns))}) {on_conflict}")
        cursor = self.session.connection().connection.cursor()
        try:
            cursor.executemany(sql, rows)
            return cursor.rowcount
        finally:
            cursor.close()

    def _household_ids(self, keys: Iterable[str | None]) -> None:
        """The ids of these households, new ones inserted, in key order (their unique index
        takes them in one pass instead of at random). Most keys of a big file are new: each
        is inserted unless it exists, and only when some existed are the keys looked up
        (one seek of the unique index per key instead of two)."""
        missing = sorted({k for k in keys if k and k not in self.households})
        if not missing:
            return
        if self.copier is not None:
            found, inserted = self.copier.household_ids(missing)
            self.households.update(found)
            self.summary.households += inserted
            return
        ids = self._reserve_ids(_households, len(missing))
        inserted = self._bulk_insert(
            _households, ["id", "organization_id", "key"],
            [(i, self.org_id, key) for i, key in zip(ids, missing, strict=True)],
            on_conflict="ON CONFLICT (organization_id, key) DO NOTHING")
        if inserted == len(missing):
            self.households.update(zip(missing, ids, strict=True))
        else:  # some were there already: which (a seek by id is cheaper than by key)
            kept = {found for (found,) in self._lookup(
                "households", ("id",), "id", ids, in_org=False)}
            existing = []
            for household_id, key in zip(ids, missing, strict=True):
                if household_id in kept:
                    self.households[key] = household_id
                else:
                    existing.append(key)
            self.households.update(self._lookup(
                "households", ("key", "id"), "key", existing, plain=True))
        self.summary.households += inserted

    def _tag_ids(self, names: Iterable[str]) -> None:
        missing = list(dict.fromkeys(n for n in names if n not in self.tag_ids))
        if not missing:
            return
        result = self.session.execute(
            insert(Tag.__table__).returning(Tag.__table__.c.id, sort_by_parameter_order=True),
            [{"organization_id": self.org_id, "name": name} for name in missing])
        for name, (tag_id,) in zip(missing, result.all(), strict=True):
            self.tag_ids[name] = tag_id

    def _tag_row_ids(self, tags: tuple[str, ...]) -> tuple[int, ...]:
        """The tag ids of a row's tags (rows share a handful of tag combinations)."""
        ids = self._tag_rows.get(tags)
        if ids is None:
            self._tag_ids(tags)
            ids = self._tag_rows[tags] = tuple(self.tag_ids[name] for name in tags)
        return ids

    _CONTACT_COLUMNS = ["id", "organization_id", "source", "custom", "do_not_contact",
                        "created_at", "updated_at", "household_id", *CONTACT_FIELDS]
    _PHONE_COLUMNS = ["organization_id", "contact_id", "e164", "extension", "label",
                      "is_mobile", "country", "position", "status"]

    def _write_new(self, pending: list[_Pending]) -> None:
        if not pending:
            return
        self._household_ids(p.household for p in pending)
        now = self._bind(_contacts, "created_at", utcnow())
        empty = self._bind(_contacts, "custom", {})
        to_json = _contacts.c.custom.type._cached_bind_processor(self.dialect) or (lambda v: v)
        to_date = _contacts.c.date_of_birth.type._cached_bind_processor(self.dialect)
        labels = {label: self._bind(_phones, "label", label)
                  for label in ("mobile", "landline", "other")}
        status_ok = self._bind(_phones, "status", "ok")
        ids = self._reserve_ids(_contacts, len(pending))
        org_id, source, households = self.org_id, self.source, self.households
        contact_rows, phone_rows, tag_rows = [], [], []
        tag_row_ids = self._tag_row_ids
        # (The chunk's number and email indexes keep the pending placeholders: nothing reads
        # them for new contacts after this, and the next chunk looks its own up.)
        for contact_id, item in zip(ids, pending, strict=True):
            values = item.values
            if to_date and values[_BIRTH] is not None:
                values = (*values[:_BIRTH], to_date(values[_BIRTH]), *values[_BIRTH + 1:])
            contact_rows.append((
                contact_id, org_id, source, to_json(item.custom) if item.custom else empty,
                item.dnc, now, now,
                households[item.household] if item.household else item.household_id,
                *values))
            for position, (e164, extension, label, is_mobile, country) in enumerate(item.phones):
                phone_rows.append((org_id, contact_id, e164, extension, labels[label],
                                   is_mobile, country, position, status_ok))
            if item.tags:
                tag_rows.extend([(contact_id, tag_id) for tag_id in tag_row_ids(item.tags)])
        phone_rows.sort(key=itemgetter(2))  # in number order, for their unique index
        self._bulk_insert(_contacts, self._CONTACT_COLUMNS, contact_rows)
        self._bulk_insert(_phones, self._PHONE_COLUMNS, phone_rows)
        self._bulk_insert(contact_tags, ["contact_id", "tag_id"], tag_rows)
        self.summary.phones += len(phone_rows)

    def _write_merges(self, merges: dict[int, list[_Incoming]]) -> None:
        ids = list(merges)
        columns = [_contacts.c[name] for name in CONTACT_FIELDS]
        current = {row.id: row._asdict() for row in self.session.execute(
            select(_contacts.c.id, _contacts.c.custom, _contacts.c.household_id,
                   _contacts.c.do_not_contact, *columns).where(_contacts.c.id.in_(ids)))}
        positions = dict(self.session.execute(
            select(_phones.c.contact_id, func.count()).where(_phones.c.contact_id.in_(ids))
            .group_by(_phones.c.contact_id)).all())
        existing_tags = set(self.session.execute(
            select(contact_tags.c.contact_id, contact_tags.c.tag_id)
            .where(contact_tags.c.contact_id.in_(ids))).all())
        self._household_ids(
            next((r.household for r in rows if r.household), None)
            for contact_id, rows in merges.items()
            if contact_id in current and current[contact_id]["household_id"] is None)
        self._tag_ids(t for rows in merges.values() for r in rows for t in r.tags)
        updates, phone_rows, tag_rows = [], [], []
        added: set[str] = set()
        now = utcnow()
        for contact_id, rows in merges.items():
            state = current.get(contact_id)
            if state is None:  # deleted meanwhile
                continue
            state["custom"] = dict(state["custom"] or {})
            for row in rows:
                fill, conflicts = merge_fields(state, row.fields)
                state.update(fill)
                row.warnings.extend(conflict_message(name, state[name], row.fields[name])
                                    for name in conflicts)
                if row.warnings:
                    self.summary.warnings += 1
                    self.report.add(row.row, "warning", "; ".join(row.warnings))
                for key, value in row.custom.items():
                    state["custom"].setdefault(key, value)
                if state["household_id"] is None and row.household in self.households:
                    state["household_id"] = self.households[row.household]
                state["do_not_contact"] = state["do_not_contact"] or row.dnc
                for e164, extension, label, is_mobile, country in row.phones:
                    if self.phone_index.get(e164) == contact_id \
                            and e164 not in added:
                        added.add(e164)
                        position = positions.get(contact_id, 0)
                        positions[contact_id] = position + 1
                        phone_rows.append({
                            "organization_id": self.org_id, "contact_id": contact_id,
                            "e164": e164, "extension": extension, "label": label,
                            "is_mobile": is_mobile, "country": country, "position": position,
                            "status": "ok"})
                for tag in row.tags:
                    pair = (contact_id, self.tag_ids[tag])
                    if pair not in existing_tags:
                        existing_tags.add(pair)
                        tag_rows.append({"contact_id": pair[0], "tag_id": pair[1]})
            updates.append({"b_id": contact_id, "b_updated_at": now,
                            **{f"b_{k}": v for k, v in state.items() if k != "id"}})
        known = self._known_numbers([p["e164"] for p in phone_rows])
        phone_rows = [p for p in phone_rows if p["e164"] not in known]
        if updates and self.copier is not None:
            names = [k[2:] for k in updates[0] if k != "b_id"]
            bind = {name: _contacts.c[name].type._cached_bind_processor(self.dialect)
                    for name in names}
            self.copier.update_contacts(names, [
                (u["b_id"], *(bind[name](u[f"b_{name}"]) if bind[name] else u[f"b_{name}"]
                              for name in names)) for u in updates])
        elif updates:
            names = [k[2:] for k in updates[0] if k != "b_id"]
            statement = update(_contacts).where(_contacts.c.id == bindparam("b_id")).values(
                {name: bindparam(f"b_{name}") for name in names})
            self.session.execute(statement, updates,
                                 execution_options={"synchronize_session": False})
        if phone_rows:
            self.session.execute(insert(_phones), phone_rows)
            self.summary.phones += len(phone_rows)
        if tag_rows:
            self.session.execute(insert(contact_tags), tag_rows)

    def _known_numbers(self, numbers: list[str]) -> set[str]:
        if not numbers:
            return set()
        return set(self.session.scalars(select(_phones.c.e164).where(
            _phones.c.organization_id == self.org_id, _phones.c.e164.in_(numbers))))


def _cleaned_chunks(table: TableSource, config: NormalizeConfig, workers: int,
                    chunk_rows: int) -> Iterator[tuple[list, list]]:
    """(raw chunk, cleaned chunk) pairs in file order; `workers` processes clean chunks
    ahead of the writer, with at most two chunks per worker in flight (memory stays flat
    whatever the file size). A raw chunk has one item per row (not always its cells)."""
    if workers <= 1:
        init_worker(config)
        for chunk in chunks(table.rows(), chunk_rows):
            yield chunk, normalize_chunk(chunk)
        return
    if table.kind == "csv":
        yield from _csv_read_by_workers(table, config, workers, chunk_rows)
        return
    yield from _pooled_chunks(chunks(table.rows(), chunk_rows), config, workers)


class ImportWorkerError(RuntimeError):
    """A worker process failed (its traceback is the message) or died."""


def _csv_read_by_workers(table: TableSource, config: NormalizeConfig, workers: int,
                         chunk_rows: int) -> Iterator[tuple[list, list]]:
    """`_cleaned_chunks` for a CSV file: each worker reads the file itself and cleans its
    share of the chunks (chunk i goes to worker i % workers), so the importing process
    (the critical path) neither parses the CSV nor pickles its rows to the workers, which
    costs less than a second read of the file in each worker (5 s of 60 in 1M rows). The
    workers send back only the cleaned rows."""
    context = multiprocessing.get_context("spawn")
    queues = [context.Queue(maxsize=2) for _ in range(workers)]
    processes = [context.Process(target=read_and_clean, daemon=True, name=f"import-{w}",
                                 args=(table, config, chunk_rows, w, workers, queues[w]))
                 for w in range(workers)]
    for process in processes:
        process.start()
    finished = False
    try:
        for index in itertools.count():
            message = _next_message(queues[index % workers], processes[index % workers])
            if message == WORKER_DONE:  # no chunk `index`, so no later one either
                break
            yield message
        for other in range(workers):  # the others have nothing but their end to send
            if other != index % workers:
                _next_message(queues[other], processes[other])
        finished = True
    finally:
        for process in processes:
            if not finished:
                process.terminate()
            process.join()


def _next_message(queue, process) -> Any:
    """The next message of a worker; raises `ImportWorkerError` if it failed or died."""
    while True:
        try:
            message = queue.get(timeout=1.0)
        except Empty:
            if process.exitcode is not None and queue.empty():
                raise ImportWorkerError(
                    f"import worker {process.name} died (exit code {process.exitcode})"
                ) from None
            continue
        if isinstance(message, tuple) and message and message[0] == WORKER_FAILED:
            raise ImportWorkerError(f"import worker {process.name} failed:\n{message[1]}")
        return message


def _pooled_chunks(pending: Iterator[list], config: NormalizeConfig, workers: int
                   ) -> Iterator[tuple[list, list]]:
    """`_cleaned_chunks` through a pool (XLSX: reading it is slow, so once is best)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init_worker, initargs=(config,)) as pool:
        in_flight: deque = deque()
        for chunk in pending:
            in_flight.append((chunk, pool.apply_async(normalize_chunk, (chunk,))))
            if len(in_flight) >= workers * 2:
                raw, result = in_flight.popleft()
                yield raw, result.get()
        while in_flight:
            raw, result = in_flight.popleft()
            yield raw, result.get()


def prepare_mapping(table: TableSource, mapping: list[str] | None) -> list[str]:
    """The column mapping to use, checked; raises TableError when there is no phone column."""
    mapping = list(mapping) if mapping else auto_map(table.headers)
    mapping = (mapping + ["ignore"] * len(table.headers))[: len(table.headers)]
    mapping = [m if is_valid_target(m) else "ignore" for m in mapping]
    if not has_phone_column(mapping):
        raise TableError(
            "No phone column found. Name one of the columns Phone, Mobile, Téléphone, "
            "Telefon or Telefoon, or choose it in the column mapping.")
    return mapping


def _ensure_custom_fields(session: Session, org_id: int, mapping: list[str],
                          headers: list[str]) -> dict[str, str]:
    keys = {target[len(CUSTOM_PREFIX):]: header for target, header in zip(
        mapping, headers, strict=True) if target.startswith(CUSTOM_PREFIX)}
    keys = {custom_key(k): h for k, h in keys.items()}
    existing = {f.key: f for f in session.scalars(select(CustomField).where(
        CustomField.organization_id == org_id))}
    for key, header in keys.items():
        if key not in existing:
            session.add(CustomField(organization_id=org_id, key=key, label=header[:120] or key))
    session.flush()
    return {key: str(f.type) for key, f in existing.items()
            if key in keys and f.type != CustomFieldType.TEXT}


def default_workers(estimated_rows: int) -> int:
    if estimated_rows < POOL_THRESHOLD:
        return 1
    return max(os.cpu_count() or 1, 1)


class _Checkpointer(threading.Thread):
    """Checkpoints an SQLite WAL from its own connection and thread, once after each commit
    of the import (whose connection has automatic checkpoints off meanwhile).

    An automatic checkpoint runs inside the commit that crosses its threshold: every commit
    of an import did, copying the pages it wrote into the database file and waiting for two
    fsyncs (12 s of 85 in 1M rows, 7 s of them waiting) while the workers stood idle. Here
    the import goes on writing while its previous commit is copied: a PASSIVE checkpoint
    never blocks the writer, nor the writer it. Durability is the same (the WAL is synced
    before each checkpoint, the database after). A failed checkpoint loses nothing, the
    frames stay in the WAL: it is logged, and the next checkpoint (or SQLite's automatic
    ones, back after the import) copies them.
    """

    def __init__(self, path: str):
        super().__init__(name="import-checkpointer", daemon=True)
        self.path = path
        self.wanted = threading.Event()
        self.stopping = False
        self.checkpoints = 0
        self.error: BaseException | None = None

    def request(self) -> None:
        """Checkpoint what has been committed so far (soon, in the thread)."""
        self.wanted.set()

    def stop(self) -> None:
        """A last checkpoint of everything committed, then the thread ends."""
        self.stopping = True
        self.wanted.set()
        self.join()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=15)

    def run(self) -> None:
        connection = self._connect()
        try:
            while True:
                self.wanted.wait()
                self.wanted.clear()
                stopping = self.stopping
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as error:
                    self.error = error
                    log.warning("import: WAL checkpoint failed (frames kept in the WAL): %s",
                                error)
                if stopping:
                    self._truncate(connection)
                    return
        finally:
            connection.close()


    def _truncate(self, connection) -> None:
        """Empty the WAL file once the import is done. During the import the WAL never
        starts over (the importer's next transaction begins before the checkpoint of its
        last one is over), so a big import leaves it large: ~1.4 GB for 1M rows. A
        TRUNCATE checkpoint waits for readers; this one gives up after a second (and
        leaves the file for SQLite to reuse) rather than hold up writers."""
        try:
            connection.execute("PRAGMA busy_timeout = 1000")
            busy, _frames, _copied = connection.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.info("import: WAL not truncated (readers were busy)")
        except sqlite3.Error as error:
            log.warning("import: WAL truncation failed (nothing lost): %s", error)


def _wal_path(connection) -> str | None:
    """The database file of an SQLite connection in WAL mode, else None (memory, PostgreSQL)."""
    if connection.dialect.name != "sqlite":
        return None
    if connection.exec_driver_sql("PRAGMA journal_mode").scalar() != "wal":
        return None
    return next((row[2] for row in connection.exec_driver_sql("PRAGMA database_list")
                 if row[1] == "main" and row[2]), None)


@contextmanager
def _checkpoints_aside(connection) -> Iterator[_Checkpointer | None]:
    """`connection`'s WAL checkpoints done by a `_Checkpointer` for the duration (SQLite in
    WAL mode; None otherwise), its automatic checkpoints as they were afterwards."""
    path = _wal_path(connection)
    if path is None:
        yield None
        return
    previous = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
    checkpointer = _Checkpointer(path)
    checkpointer.start()
    try:
        yield checkpointer
    finally:
        checkpointer.stop()
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {int(previous)}")


class _Writer:
    """The import's session, and how it commits."""

    def __init__(self, session: Session, checkpointer: _Checkpointer | None):
        self.session, self.checkpointer = session, checkpointer

    def commit(self) -> None:
        """Commit, then have the WAL checkpointed aside (SQLite)."""
        self.session.commit()
        if self.checkpointer is not None:
            self.checkpointer.request()


@contextmanager
def _writing_session(session: Session) -> Iterator[_Writer]:
    """A session on one connection held for the whole import. A pooled session may get
    another connection after each commit; this way the SQLite tuning applies to the
    connection that writes, and that connection goes back to the pool as it was."""
    with session.get_bind(Contact.__mapper__).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            connection.commit()
        try:
            with _checkpoints_aside(connection) as checkpointer:
                connection.commit()
                writer = Session(bind=connection)
                try:
                    yield _Writer(writer, checkpointer)
                finally:
                    writer.close()
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")
                connection.commit()


@dataclass
class Checkpoint:
    """How far an import got, as of one of its commits: rows read (whole chunks of
    `chunk_rows`), its summary, and its report's size. Stored in the same transaction as
    the contacts (`on_commit`), it lets an interrupted import resume where it stopped."""

    rows: int = 0
    chunk_rows: int = CHUNK_ROWS
    report_bytes: int = 0
    summary: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


OnCommit = Callable[[Session, Checkpoint, int], None]


def import_contacts(
    session: Session, org_id: int, path: str | Path, *, mapping: list[str] | None = None,
    default_region: str | None = None, tags: list[str] | tuple[str, ...] = (),
    source: str | None = None, report_path: str | Path | None = None,
    workers: int | None = None, progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES, chunk_rows: int = CHUNK_ROWS,
    table: TableSource | None = None, on_commit: OnCommit | None = None,
    resume: Checkpoint | None = None, commit_seconds: float | None = None,
) -> tuple[ImportSummary, ImportReport]:
    """Import a CSV or XLSX file into an organization, committing every few seconds.

    Raises `TableError` (before writing anything) when the file is not a usable table.
    `session` is committed first; the import writes through its own connection.
    `progress(done_rows, estimated_rows)` is called after every commit (so it may commit
    `session` itself without waiting for the import's write lock).
    `on_commit(writer_session, checkpoint, estimated_rows)` runs just before each commit,
    in the import's transaction (to record the checkpoint with the rows it covers);
    `resume` (such a checkpoint) skips the rows it covers and carries on its summary and
    report. Rows are merged by number, so even an import run twice creates no contact twice.
    """
    table = table or open_table(path, max_bytes=max_bytes)
    mapping = prepare_mapping(table, mapping)
    org = session.get(Organization, org_id)
    if org is None:
        raise TableError("No such organization.")
    region = (default_region or organization_region(org)).upper()
    config = NormalizeConfig(tuple(mapping), region, household_secret())
    session.commit()
    summary = ImportSummary(**(resume.summary or {})) if resume else ImportSummary()
    report = ImportReport(Path(report_path) if report_path else None, table.headers,
                          resume_at=resume.report_bytes if resume else None)
    clean_tags = [t.strip()[:64] for t in tags if t and t.strip()]
    workers = workers if workers is not None else default_workers(table.estimated_rows)
    if resume:
        chunk_rows = resume.chunk_rows  # the same chunks as the interrupted run
    elif chunk_rows == CHUNK_ROWS and table.estimated_rows >= POOL_THRESHOLD:
        chunk_rows = BIG_CHUNK_ROWS  # fewer round trips on big files
    skip = resume.rows if resume else 0
    every = COMMIT_SECONDS if commit_seconds is None else commit_seconds
    done = 0

    def commit(writer: _Writer) -> None:
        if on_commit:
            on_commit(writer.session, Checkpoint(done, chunk_rows, report.written(),
                                                  summary.as_dict()),
                      max(table.estimated_rows, done))
        writer.commit()
    # The indexes hold up to millions of objects: a full garbage collection after every few
    # thousand allocations would walk them all again and again. Chunks free themselves by
    # reference counting; a young-generation pass every few chunks catches the rest.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with _writing_session(session) as writer:
            custom_types = _ensure_custom_fields(writer.session, org_id, mapping,
                                                 table.headers)
            state = _MergeState(writer.session, org_id, source or f"import:{Path(path).name}",
                                clean_tags, report, summary, custom_types)
            began = time.monotonic()
            for number, (raw, cleaned) in enumerate(
                    _cleaned_chunks(table, config, workers, chunk_rows)):
                if number % 16 == 15:
                    gc.collect(1)
                if done < skip:  # written before the interruption
                    done += len(raw)
                    continue
                state.apply(raw, cleaned)
                done += len(raw)
                if time.monotonic() - began >= every:
                    commit(writer)
                    began = time.monotonic()
                    if progress:
                        progress(done, max(table.estimated_rows, done))
            # Changed fields and tags may put people under (or out of) an exclusion.
            contacts_changed(writer.session, org_id)
            state.close()
            commit(writer)
        if progress:
            progress(done, max(table.estimated_rows, done))
    finally:
        report.close()
        if gc_was_enabled:
            gc.enable()
    return summary, report
