"""Prebuilt statements for the queue's hot path, and the operation's rules, cached.

Building a SQLAlchemy statement (and its cache key) costs more than running a one-row query
on SQLite, so the hot statements are built once, with bind parameters, and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from ringround.dispositions import Disposition, disposition_map
from ringround.models import Operation, OptOut, Organization, Target
from ringround.operation_rules import OperationRules, rules_for
from ringround.queue._raw import as_text

_STATEMENTS: dict[Any, Any] = {}


def prebuilt(key, build: Callable[[], Any]):
    """The statement under `key`, built on first use."""
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


# The operation's rules as JSON, only ever read by the queue.
RULE_COLUMNS = frozenset({"dispositions", "retry_rules", "exclusions", "time_zones",
                          "weekdays"})
OPERATION_FIELDS = (
    "id", "organization_id", "state", "starts_at", "ends_at", "time_zones", "dispositions",
    "retry_rules", "exclusions", "cooldown_minutes", "max_calls_per_person", "window_start",
    "window_end", "weekdays",
)


def operation_columns(prefix: str = "", rules_as_text: bool = False):
    """The operation's columns the queue reads, and its organization's call gap. With
    `rules_as_text`, the JSON rule columns come as text, for a DriverStatement that lists
    them as `shared` (decoded once per distinct value)."""
    o = Operation.__table__
    org = Organization.__table__
    return [as_text(o.c[name], prefix + name)
            if rules_as_text and isinstance(o.c[name].type, JSON)
            else o.c[name].label(prefix + name) for name in OPERATION_FIELDS] + [
        org.c.call_gap_minutes.label(prefix + "call_gap_minutes")]


def operation_join(from_clause=None):
    o = Operation.__table__
    org = Organization.__table__
    base = o if from_clause is None else from_clause
    return base.join(org, org.c.id == o.c.organization_id)


class OperationView:
    """The operation part of a combined row (columns labelled with a prefix)."""

    __slots__ = ("id", "organization_id", "state", "starts_at", "ends_at", "time_zones",
                 "dispositions", "retry_rules", "exclusions", "cooldown_minutes",
                 "max_calls_per_person", "window_start", "window_end", "weekdays",
                 "call_gap_minutes")

    def __init__(self, row, prefix: str):
        for name in self.__slots__:
            setattr(self, name, getattr(row, prefix + name))


def _operation_statement():
    return select(*operation_columns()).select_from(operation_join()).where(
        Operation.__table__.c.id == bindparam("operation_id"))


def operation_row(session: Session, operation_or_id):
    """What the queue reads of an operation (and its organization's gap), as one row.

    Read with one Core query rather than through the ORM object, which the caller's commit
    has usually expired (refreshing it costs several times more)."""
    operation_id = _id_of(operation_or_id)
    return session.execute(prebuilt("operation", _operation_statement),
                           {"operation_id": operation_id}).first()


def _id_of(instance) -> int:
    """The primary key of a model instance (without refreshing an expired one), or an id."""
    if isinstance(instance, int):
        return instance
    identity = instance_state(instance).identity
    return identity[0] if identity else instance.id


@lru_cache(maxsize=256)
def _cached_rules(_key, row) -> tuple[OperationRules, dict[str, Disposition]]:
    return rules_for(row), disposition_map(row.dispositions)


def rules_of(row) -> tuple[OperationRules, dict[str, Disposition]]:
    """The typed rules and dispositions of an operation row, cached by their content (and,
    for an OperationView read by a DriverStatement, by the identity of its shared JSON)."""
    if isinstance(row, OperationView):
        sources = (row.dispositions, row.retry_rules, row.exclusions)
        key = (row.id, id(sources[0]), id(sources[1]), id(sources[2]), row.window_start,
               row.window_end, row.weekdays, row.cooldown_minutes, row.max_calls_per_person)
        hit = _by_identity.get(key)
        # The entry keeps its sources alive, so their ids cannot be reused meanwhile.
        if hit is not None and all(a is b for a, b in zip(hit[0], sources, strict=True)):
            return hit[1]
        found = _rules_by_content(row)
        if len(_by_identity) > 256:
            _by_identity.clear()
        _by_identity[key] = (sources, found)
        return found
    return _rules_by_content(row)


# Shared JSON (ringround.queue._raw) is never modified, so its identity stands for its content.
_by_identity: dict[tuple, tuple[tuple, tuple[OperationRules, dict[str, Disposition]]]] = {}


def _rules_by_content(row) -> tuple[OperationRules, dict[str, Disposition]]:
    key = (row.id, repr(row.dispositions), repr(row.retry_rules), repr(row.exclusions),
           row.window_start, row.window_end, row.weekdays, row.cooldown_minutes,
           row.max_calls_per_person)
    return _cached_rules(key, _Hashable(row))


class _Hashable:
    """Wraps a row so lru_cache hashes by the key alone (JSON columns are unhashable)."""

    __slots__ = ("row",)

    def __init__(self, row):
        self.row = row

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return True

    def __getattr__(self, name):
        return getattr(self.row, name)


def opted_out_statement():
    o = OptOut.__table__
    return prebuilt("opted_out", lambda: select(o.c.id).where(
        o.c.organization_id == bindparam("org_id"), o.c.phone_hmac == bindparam("digest")))


def target_columns():
    return Target.__table__.c


def sibling_count(t):
    s = t.alias("s")
    return select(func.count()).where(s.c.contact_id == t.c.contact_id,
                                      s.c.id != t.c.id).scalar_subquery()


__all__ = ["operation_row", "opted_out_statement", "prebuilt", "rules_of", "sibling_count",
           "target_columns", "update"]
