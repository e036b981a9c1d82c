"""What the queue reads of an operation, in one row, and its typed rules, cached.

The queue reads an operation's columns (and its organization's call gap) with each lease and
result, in the same statement as the rest (`operation_columns`). Parsing the rules from their
JSON costs more than the read: `rules_of` keeps them by (operation id, `updated_at`), which
every write to the operation changes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, bindparam, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from ringround.dispositions import Disposition, disposition_map
from ringround.models import Operation, OptOut, Organization, Target
from ringround.operation_rules import OperationRules, rules_for
from ringround.queue._raw import as_text
from ringround.queue.statements import prebuilt

# Literals, so the partial indexes apply (ix_targets_ready, ix_targets_leased).
WAITING_SQL = text("targets.state = 'waiting'")
LEASED_SQL = text("targets.state = 'leased'")

# The operation's rules as JSON, only ever read by the queue.
RULE_COLUMNS = frozenset({"dispositions", "retry_rules", "exclusions", "time_zones",
                          "weekdays"})
OPERATION_FIELDS = (
    "id", "organization_id", "state", "starts_at", "ends_at", "time_zones", "dispositions",
    "retry_rules", "exclusions", "cooldown_minutes", "max_calls_per_person", "window_start",
    "window_end", "weekdays", "updated_at",
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
                 "updated_at", "call_gap_minutes")

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


Rules = tuple[OperationRules, dict[str, Disposition]]


class RulesCache:
    """An operation's typed rules and dispositions, by (operation id, `updated_at`).

    `updated_at` is set at every write to the operation (TimestampMixin's `onupdate`, to the
    microsecond), and is read in the same statement as the rules: an operation whose rules
    change gets a new key. Bounded: emptied when full."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: dict[tuple[int, datetime], Rules] = {}

    def clear(self) -> None:
        """Forget every entry (a new app may use another database with the same ids)."""
        self._entries.clear()

    def get(self, row) -> Rules:
        """The rules of an operation row (any object with the operation's columns)."""
        key = (row.id, row.updated_at)
        found = self._entries.get(key)
        if found is None:
            found = rules_for(row), disposition_map(row.dispositions)
            if row.updated_at is None:  # never written through SQLAlchemy: no version
                return found
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = found
        return found


RULES = RulesCache()


def rules_of(row) -> Rules:
    """The typed rules and dispositions of an operation row (cached, see RulesCache)."""
    return RULES.get(row)


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


__all__ = ["LEASED_SQL", "RULES", "WAITING_SQL", "RulesCache", "operation_row",
           "opted_out_statement", "prebuilt", "rules_of", "sibling_count", "target_columns",
           "update"]
