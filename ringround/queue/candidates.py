"""Candidate targets for a lease: the best waiting targets of each zone inside the window.

One index probe per zone (`ix_targets_ready`), the zones' probes in one UNION ALL, each row
carrying what the per-target checks need and the caller's card. The order (ARCHITECTURE.md,
"Rules the queue applies"): the agent's prefer tags first, then fewest attempts, then longest
since the last attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import (
    bindparam,
    exists,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ringround.models import Contact, ContactPhone, Tag, Target, contact_tags
from ringround.queue._sql import WAITING_SQL
from ringround.queue.statements import prebuilt, runnable

# How far down the line an agent's prefer tags look for matching people, when many carry
# them (when few do, the query starts from those people instead).
PREFER_WINDOW = 300
# What a caller's card can show of the contact (`operation_fields.BUILTIN_FIELDS` and the
# custom fields), read with each candidate: the card of a new lease needs no query of its own.
CARD_CONTACT_COLUMNS = ("first_name", "last_name", "language", "city", "postcode", "street",
                        "country", "email", "date_of_birth", "time_zone", "source", "custom")

ONE, ZERO = literal_column("1"), literal_column("0")


def card_contact(row, phone_id: int | None) -> SimpleNamespace | None:
    """The card columns a candidate row carries, if the number leased is the one it read."""
    if phone_id != row.phone_id:
        return None
    return SimpleNamespace(id=row.contact_id, extension=row.card_extension,
                           **{name: getattr(row, f"card_{name}") for name in CARD_CONTACT_COLUMNS})



def tag_ids(session: Session, org_id: int, names: list[str]) -> list[int]:
    if not names:
        return []
    t = Tag.__table__
    stmt = prebuilt("tag_ids", lambda: select(t.c.id).where(
        t.c.organization_id == bindparam("org_id"),
        t.c.name.in_(bindparam("names", expanding=True))))
    return list(session.scalars(stmt, {"org_id": org_id, "names": list(names)}))



def _zone_probe(k: int, prefer: str | None, lock: bool, filtered: bool = True,
                one: bool = False):
    """One zone's probe: the best waiting, eligible targets there, with what the checks need
    (the contact's flags and user, its first OK number, how many other operations hold the
    person). Zone parameter `z{k}`. Unfiltered, it leaves out the targets already tried and
    the agent's avoid tags (the usual first look, with neither). With `one`, the limit is
    a literal 1: PostgreSQL then settles on one generic plan for the prepared statement
    instead of planning it again at every lease (most of its cost)."""
    t = Target.__table__
    c = Contact.__table__
    p = ContactPhone.__table__
    s = t.alias("s")
    # Literal limits: fewer parameters to convert and bind at every lease.
    first_phone = (select(p.c.id).where(p.c.contact_id == t.c.contact_id,
                                        p.c.status == literal_column("'ok'"))
                   .order_by(p.c.position, p.c.id).limit(ONE).offset(ZERO))
    siblings = select(func.count()).where(s.c.contact_id == t.c.contact_id,
                                          s.c.id != t.c.id).scalar_subquery()
    stmt = select(
        t.c.id, t.c.contact_id, t.c.attempts, t.c.last_attempt_at, c.c.do_not_contact,
        first_phone.scalar_subquery().label("phone_id"),
        first_phone.with_only_columns(p.c.e164).scalar_subquery().label("phone_e164"),
        c.c.user_id, siblings.label("siblings"),
        *[c.c[name].label(f"card_{name}") for name in CARD_CONTACT_COLUMNS],
        first_phone.with_only_columns(p.c.extension).scalar_subquery().label("card_extension"),
    ).join(c, c.c.id == t.c.contact_id).where(
        t.c.operation_id == bindparam("operation_id"), WAITING_SQL,
        t.c.time_zone == bindparam(f"z{k}"), t.c.next_eligible_at <= bindparam("now"),
    )
    if filtered:
        stmt = stmt.where(
            t.c.id.not_in(bindparam("tried", expanding=True)),
            ~exists().where(contact_tags.c.contact_id == t.c.contact_id,
                            contact_tags.c.tag_id.in_(bindparam("avoid", expanding=True))))
    if prefer == "driven":
        # Few people carry the tags: start from them (one index probe each).
        stmt = stmt.where(t.c.contact_id.in_(select(contact_tags.c.contact_id).where(
            contact_tags.c.tag_id.in_(bindparam("prefer", expanding=True)))))
    elif prefer == "window":
        # Many carry them: look among the next PREFER_WINDOW in line only. Looking further
        # would walk the whole line whenever nobody tagged is left, at every lease.
        w = t.alias("w")
        window = select(w.c.id, w.c.contact_id).where(
            w.c.operation_id == bindparam("operation_id"), w.c.state == literal_column(
                "'waiting'"), w.c.time_zone == bindparam(f"z{k}"),
            w.c.next_eligible_at <= bindparam("now"),
            w.c.id.not_in(bindparam("tried", expanding=True)),
        ).order_by(w.c.attempts, w.c.last_attempt_at, w.c.id).limit(PREFER_WINDOW).subquery()
        tagged = select(window.c.id).where(exists().where(
            contact_tags.c.contact_id == window.c.contact_id,
            contact_tags.c.tag_id.in_(bindparam("prefer", expanding=True))))
        stmt = stmt.where(t.c.id.in_(tagged))
    stmt = stmt.order_by(t.c.attempts, t.c.last_attempt_at, t.c.id).limit(
        ONE if one else bindparam("lim")).offset(ZERO)
    if lock:
        # Each caller takes rows no other transaction holds: no waiting, no double lease.
        stmt = stmt.with_for_update(of=t, skip_locked=True)
    return stmt


def _candidates_statement(n_zones: int, prefer: str | None, lock: bool,
                          filtered: bool = True, one: bool = False):
    """Built once per shape and reused (ringround.queue.statements). The unfiltered shape has
    no list parameters, so it is a `runnable` Statement (the fast one runs on the driver)."""

    def build():
        probes = [_zone_probe(k, prefer, lock, filtered, one) for k in range(n_zones)]
        # Several zones: one round trip, each zone's probe a branch of a UNION ALL.
        return probes[0] if n_zones == 1 else union_all(*[select(q.subquery()) for q in probes])

    if filtered:
        return prebuilt(("candidates", n_zones, prefer, lock), build)
    return runnable(("candidates_raw", n_zones, lock, one), build)


@dataclass
class Picker:
    """The fixed parts of one agent's candidate queries in one operation."""

    operation_id: int
    zones: list[str]
    agent_id: int
    own_contact_id: int | None
    avoid_tag_ids: list[int]
    prefer_tag_ids: list[int]
    lock: bool
    connection: Connection

    def candidates(self, session: Session, now: datetime, prefer: str | None,
                   tried: set[int], limit: int) -> list:
        """The best `limit` candidates of each zone inside the window, in call order."""
        params = {"operation_id": self.operation_id, "now": now, "lim": limit}
        params.update({f"z{k}": zone for k, zone in enumerate(self.zones)})
        if prefer is None and not tried and not self.avoid_tag_ids:
            stmt = _candidates_statement(len(self.zones), None, self.lock, filtered=False,
                                         one=limit == 1)
            rows = stmt.rows(self.connection, params)
        else:
            params.update(tried=list(tried), avoid=self.avoid_tag_ids,
                          prefer=self.prefer_tag_ids)
            stmt = _candidates_statement(len(self.zones), prefer, self.lock)
            rows = session.execute(stmt, params).all()
        rows.sort(key=_sort_key)
        return rows


_tag_counts: dict[tuple, tuple[float, int]] = {}


def tagged_count(session: Session, tag_ids: list[int]) -> int:
    """How many contacts carry any of these tags (cached a minute: it only picks a plan)."""
    key = (str(session.get_bind().url), *sorted(tag_ids))
    cached = _tag_counts.get(key)
    if cached is not None and time.monotonic() - cached[0] < 60:
        return cached[1]
    count = session.scalar(select(func.count()).select_from(
        select(contact_tags.c.contact_id).where(contact_tags.c.tag_id.in_(key[1:]))
        .limit(PREFER_WINDOW + 1).subquery())) or 0
    _tag_counts[key] = (time.monotonic(), count)
    return count


def prefer_passes(session: Session, prefer_tag_ids: list[int]) -> list[str | None]:
    """The candidate passes of a lease: with prefer tags, first among the people who carry
    them ("driven" from them when few do, else a "window" of the line), then everyone."""
    if not prefer_tag_ids:
        return [None]
    few = tagged_count(session, prefer_tag_ids) <= PREFER_WINDOW
    return ["driven" if few else "window", None]


def _sort_key(row):
    return (row.attempts, row.last_attempt_at or datetime.min.replace(tzinfo=UTC), row.id)
