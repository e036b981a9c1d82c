"""How an import writes a chunk: new contacts, their numbers, tags and households in bulk
statements straight through the driver (no ORM object per row), and the merges into
contacts already there (PostgreSQL: through `pg_copy`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from ringround.models import (
    Contact,
    ContactPhone,
    Household,
    Tag,
    contact_tags,
    utcnow,
)
from ringround.people.merge import (
    conflict_message,
    merge_fields,
)
from ringround.people.normalize import (
    CONTACT_FIELDS,
    Phone,
    Remark,
)

_contacts = Contact.__table__
_phones = ContactPhone.__table__
_households = Household.__table__


# Positions in a cleaned row's values (`normalize.CONTACT_FIELDS`).
EMAIL = CONTACT_FIELDS.index("email")
FIRST_NAME = CONTACT_FIELDS.index("first_name")
NO_FIELDS = (None,) * len(CONTACT_FIELDS)
_BIRTH = CONTACT_FIELDS.index("date_of_birth")


class PendingContact:
    """A contact to create in this chunk (the worker's tuples, copied only if merged into)."""

    __slots__ = ("row", "values", "phones", "tags", "custom", "household", "dnc",
                 "household_id")

    def __init__(self, row: int, values: tuple, phones: tuple[Phone, ...],
                 tags: tuple[str, ...], custom: dict | None, household: str | None, dnc: bool):
        self.row, self.values, self.phones, self.tags = row, values, phones, tags
        self.custom, self.household, self.dnc = custom, household, dnc
        self.household_id: int | None = None  # an existing household, when `household` is None


class IncomingRow:
    """A row to merge into a contact already in the database."""

    __slots__ = ("row", "fields", "phones", "tags", "custom", "household", "warnings", "dnc")

    def __init__(self, row: int, values: tuple, phones: tuple[Phone, ...],
                 tags: tuple[str, ...], custom: dict | None, household: str | None,
                 warnings: list[Remark], dnc: bool):
        self.row, self.phones, self.tags, self.custom = row, phones, tags, custom or {}
        self.fields = present_fields(values)
        self.household, self.warnings, self.dnc = household, warnings, dnc


def present_fields(values) -> dict[str, Any]:
    return {name: value for name, value in zip(CONTACT_FIELDS, values, strict=True)
            if value not in (None, "")}


class ChunkWriter:
    """The database half of `import_merge.MergeState`, look-ups and writes (it sets the
    attributes used here: session, org_id, source, dialect, mark, copier, summary, report,
    the indexes)."""

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
        else:  # the array sent in binary: psycopg's text arrays test every value with a
            # regex for quoting (1.2-1.6 µs a value against 0.25; ~3M values in 1M rows)
            sql = f"SELECT {selected} FROM {table} WHERE {org}{key} = ANY(%b)"  # noqa: S608
            param = values
        cursor = self.session.connection().connection.cursor()
        try:
            cursor.execute(sql, (param,))
            return cursor.fetchall()
        finally:
            cursor.close()

    # -- writing ------------------------------------------------------------------------

    def _reserve_ids(self, table, count: int) -> list[int]:
        """Ids for `count` new rows of `table`, safe against concurrent writers: a sequence
        on PostgreSQL; on SQLite, the write lock is taken first (one writer at a time), so
        max(id) cannot move until the import commits."""
        connection = self.session.connection()
        name = table.name
        if connection.dialect.name == "postgresql":
            # The sequence's name looked up once: `nextval(pg_get_serial_sequence(…))` per
            # row looked it up in the catalogue for every id (5 µs an id, 1.6 s in 300k rows).
            sequence = connection.exec_driver_sql(
                f"SELECT pg_get_serial_sequence('{name}', 'id')").scalar()  # noqa: S608
            return list(connection.exec_driver_sql(
                f"SELECT nextval('{sequence}') "  # noqa: S608
                f"FROM generate_series(1, {int(count)})").scalars().all())
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

    def _write_new(self, pending: list[PendingContact]) -> None:
        if not pending:
            return
        self._household_ids(p.household for p in pending)
        now = self._bind(_contacts, "created_at", utcnow())
        if self.copier is not None:  # COPY takes JSON as text: serialized once, not per row
            empty, to_json = "{}", json.dumps  # (what psycopg's `Json` wrapper would send)
        else:
            empty = self._bind(_contacts, "custom", {})
            to_json = (_contacts.c.custom.type._cached_bind_processor(self.dialect)
                       or (lambda v: v))
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

    def _write_merges(self, merges: dict[int, list[IncomingRow]]) -> None:
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
                    self.report.add(row.row, "warning", tuple(row.warnings))
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
