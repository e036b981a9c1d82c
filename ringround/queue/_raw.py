"""The queue's hot statements, compiled once per dialect and run on the driver's cursor.

A lease or a result is a handful of one-row statements. Through a Session, each costs about
0.1 ms of Python (execution context, parameter and result processing layers) where SQLite
itself needs 0.01–0.03 ms: most of a lease was SQLAlchemy. These statements are still built
with SQLAlchemy (one source of SQL for SQLite and PostgreSQL) and convert their values with
the column types' own bind and result processors, so what they store is exactly what the ORM
stores; only the layers in between are skipped. They run inside the session's transaction,
on its connection: the caller commits as usual.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, TypeDecorator, cast
from sqlalchemy.engine import Connection, Dialect

from ringround.models.base import UTCDateTime


class _Compiled:
    __slots__ = ("sql", "names", "keys", "positional", "defaults", "bind_procs", "row_type",
                 "result_procs", "_bind_plan", "_result_plan")

    def __init__(self, stmt, dialect: Dialect, shared: frozenset[str]):
        compiled = stmt.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("expanding parameters cannot run on the driver directly")
        self.sql = compiled.string
        self.positional = compiled.positional
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        self.names = (list(compiled.positiontup) if compiled.positional
                      else list(dict.fromkeys(compiled.bind_names.values())))
        # Explicit parameters are given by their key; anonymous ones (a literal LIMIT) keep
        # the value they were built with.
        self.keys = [by_name[name].key if by_name[name].required or by_name[name].key == name
                     else None for name in self.names]
        self.defaults = [by_name[name].effective_value for name in self.names]
        self.bind_procs = [_bind_processor(by_name[name].type, dialect)
                           for name in self.names]
        # Per parameter: its key (None: the built-in value) and its processor, if any. A
        # statement runs thousands of times a second: the loop below is all it costs.
        self._bind_plan = tuple(zip(self.keys, self.defaults, self.bind_procs, strict=True))
        columns = _returned_columns(stmt)
        if columns:
            self.row_type = namedtuple("Row", [c.key for c in columns], rename=True)
            self.result_procs = [_result_processor(c, dialect, c.key in shared)
                                 for c in columns]
        else:
            self.row_type = None
            self.result_procs = []
        # Only the columns that need converting are visited for each row.
        self._result_plan = tuple((i, proc) for i, proc in enumerate(self.result_procs)
                                  if proc is not None)

    def parameters(self, params: dict[str, Any]):
        values = []
        append = values.append
        for key, default, proc in self._bind_plan:
            value = params.get(key, default) if key is not None else default
            append(value if proc is None or value is None else proc(value))
        return values if self.positional else dict(zip(self.names, values, strict=True))

    def row(self, raw) -> Any:
        values = list(raw)
        for i, proc in self._result_plan:
            value = values[i]
            if value is not None:
                values[i] = proc(value)
        return self.row_type._make(values)


def _bind_processor(type_, dialect: Dialect):
    if dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        return _sqlite_datetime_in
    return type_._cached_bind_processor(dialect)


def _result_processor(column, dialect: Dialect, shared: bool):
    type_ = column.type
    if isinstance(type_, JSONText):
        return _shared_json(json.loads) if shared else json.loads
    if dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        return _sqlite_datetime_out
    return type_._cached_result_processor(dialect, None)


class JSONText(TypeDecorator):
    """A JSON value read as its text (see `as_text`), decoded after the read (by a
    DriverStatement once per distinct text; through SQLAlchemy, at every read)."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value, dialect):
        return json.loads(value) if value is not None else None


def as_text(column, label: str):
    """A JSON column selected as its text. Listed as `shared` in a DriverStatement, each
    distinct text is decoded once, where psycopg would decode it into a new object at every
    read."""
    return cast(column, JSONText()).label(label)


# SQLAlchemy's SQLite DATETIME format ("2026-11-23 18:44:18.000000", UTC here), written and
# read with the C isoformat functions rather than its %-format and regular expression.
def _sqlite_datetime_in(value: datetime) -> str:
    if value.tzinfo is UTC:  # the usual case: the queue works in UTC
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_datetime_out(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _shared_json(proc):
    """Decode a read-only JSON column once per distinct text (an operation's rules are read
    at every lease and result, and change rarely). Callers must not modify the value: the
    same object is returned for the same text."""
    memo: dict[str, Any] = {}

    def decode(value):
        found = memo.get(value)
        if found is None:
            if len(memo) > 256:
                memo.clear()
            found = memo[value] = proc(value)
        return found

    return decode


def _returned_columns(stmt) -> list:
    if getattr(stmt, "is_select", False) or hasattr(stmt, "selected_columns"):
        try:
            return list(stmt.selected_columns)
        except AttributeError:
            pass
    returning = getattr(stmt, "_returning", ())
    return list(returning)


class DriverStatement:
    """A statement built once (lazily, by `build`) and compiled once per dialect."""

    __slots__ = ("_build", "_stmt", "_compiled", "_shared")

    def __init__(self, build: Callable[[], Any], shared: frozenset[str] = frozenset()):
        """`shared`: JSON columns that are only read, selected `as_text` and decoded once per
        distinct value."""
        self._build = build
        self._stmt = None
        self._compiled: dict[str, _Compiled] = {}
        self._shared = shared

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            if self._stmt is None:
                self._stmt = self._build()
            compiled = self._compiled[dialect.name] = _Compiled(self._stmt, dialect,
                                                                self._shared)
        return compiled

    def _cursor(self, connection: Connection, params: dict[str, Any]):
        """The driver's cursor, having run the statement: the caller closes it."""
        compiled = self._for(connection.dialect)
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
        except BaseException:
            cursor.close()
            raise
        return compiled, cursor

    def rows(self, connection: Connection, params: dict[str, Any]) -> list:
        """Run it and return every row (as named tuples, values converted)."""
        compiled, cursor = self._cursor(connection, params)
        try:
            row = compiled.row
            return [row(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, connection: Connection, params: dict[str, Any]):
        """Run it and return the first row, or None."""
        rows = self.rows(connection, params)
        return rows[0] if rows else None

    def run(self, connection: Connection, params: dict[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        _compiled, cursor = self._cursor(connection, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()
