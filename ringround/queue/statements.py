"""The queue's statements: built once, kept by name, run the fast way or the plain way.

Building a SQLAlchemy statement (and its cache key) costs more than running a one-row query on
SQLite, so the queue builds each of its statements once, with bind parameters, and keeps it
under a name (`prebuilt`). The hot ones (`runnable`) are run through one small interface,
`Statement` (`rows`, `first`, `run`), with two implementations:

- `DriverStatement` (`ringround.queue._raw`): compiled once per dialect, run on the driver's
  cursor, skipping SQLAlchemy's execution layers. The default: the hot path is mostly this.
- `PlainStatement` (here): the same statement through `Connection.execute`, the reference.

Both take the same parameters (a parameter left out is NULL) and give rows read by attribute
or position. The queue's tests run against both (`use_plain_statements`), so the fast one
cannot drift from what SQLAlchemy itself does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from ringround.queue._raw import DriverStatement


class Statement(Protocol):
    """A prebuilt statement the queue runs inside the session's transaction."""

    def rows(self, connection: Connection, params: dict[str, Any]) -> list:
        """Run it and return every row."""

    def first(self, connection: Connection, params: dict[str, Any]):
        """Run it and return the first row, or None."""

    def run(self, connection: Connection, params: dict[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""


class PlainStatement:
    """A statement built once (lazily, by `build`) and run through SQLAlchemy."""

    __slots__ = ("_build", "_stmt", "_keys")

    def __init__(self, build: Callable[[], Any], shared: frozenset[str] = frozenset()):
        """`shared` is accepted for the same signature as DriverStatement and unused: every
        read decodes its JSON afresh."""
        self._build = build
        self._stmt = None
        self._keys: dict[str, tuple[str, ...]] = {}

    def _execute(self, connection: Connection, params: dict[str, Any]):
        if self._stmt is None:
            self._stmt = self._build()
        keys = self._keys.get(connection.dialect.name)
        if keys is None:
            # The statement's own parameters (in subqueries and CTEs too), as compiled.
            binds = self._stmt.compile(dialect=connection.dialect).binds.values()
            keys = self._keys[connection.dialect.name] = tuple(
                {bind.key for bind in binds if bind.required})
        # Like DriverStatement: only the statement's own parameters, a missing one is NULL.
        return connection.execute(self._stmt, {key: params.get(key) for key in keys})

    def rows(self, connection: Connection, params: dict[str, Any]) -> list:
        return list(self._execute(connection, params).all())

    def first(self, connection: Connection, params: dict[str, Any]):
        return self._execute(connection, params).first()

    def run(self, connection: Connection, params: dict[str, Any]) -> int:
        return self._execute(connection, params).rowcount


_KINDS: dict[str, type] = {"driver": DriverStatement, "plain": PlainStatement}


class StatementCache:
    """Statements by name, each built on first use. `runnable` ones are built as the kind in
    use (`driver` or `plain`); the name is kept apart per kind."""

    def __init__(self) -> None:
        self.kind = "driver"
        self._built: dict[tuple[str, Any], Any] = {}

    def prebuilt(self, key, build: Callable[[], Any]):
        """The SQLAlchemy statement under `key`, built on first use (run it as usual)."""
        stmt = self._built.get(("sqlalchemy", key))
        if stmt is None:
            stmt = self._built[("sqlalchemy", key)] = build()
        return stmt

    def runnable(self, key, build: Callable[[], Any],
                 shared: frozenset[str] = frozenset()) -> Statement:
        """The `Statement` under `key` (a statement without expanding parameters).
        `shared`: JSON columns selected `as_text` that are only read (see DriverStatement)."""
        found = self._built.get((self.kind, key))
        if found is None:
            found = self._built[(self.kind, key)] = _KINDS[self.kind](build, shared)
        return found


STATEMENTS = StatementCache()
prebuilt = STATEMENTS.prebuilt
runnable = STATEMENTS.runnable


@contextmanager
def use_plain_statements() -> Iterator[None]:
    """Run the queue's statements through SQLAlchemy meanwhile (tests compare both ways)."""
    before, STATEMENTS.kind = STATEMENTS.kind, "plain"
    try:
        yield
    finally:
        STATEMENTS.kind = before


__all__ = ["STATEMENTS", "PlainStatement", "Statement", "StatementCache", "prebuilt",
           "runnable", "use_plain_statements"]
