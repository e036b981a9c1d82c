"""Field and tag exclusions applied to whole sets of targets, as soon as rules or contacts change.

The lease re-checks every candidate (`checks.static_exclusion`), but the dashboard counts
targets in SQL: a target an exclusion will remove must already be `removed` when it is
counted. So this pass runs when an operation's exclusions are saved, when targets are created,
and when contacts change (import, tags, a caller's field edit, do-not-contact). It reads the
few columns the rules need, decides with the same `values_match` as the lease, and writes one
UPDATE per label for the targets that change. Targets removed by a field or tag exclusion whose
person no longer matches come back (waiting, not yet called again); leased targets are left to
their result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ringround.models import (
    Contact,
    Operation,
    OperationState,
    Tag,
    Target,
    TargetState,
    contact_tags,
)
from ringround.operation_rules import ExclusionRule, OperationRules, rules_for
from ringround.queue.checks import BUILTIN_FIELDS, values_match
from ringround.queue.leasing import _now

_CHUNK = 500  # ids per IN (...) list: well under SQLite's variable limit


def _static_rules(rules: OperationRules) -> list[ExclusionRule]:
    return [r for r in rules.exclusions.rules if r.kind in ("field_equals", "tag")]


def _other_labels(rules: OperationRules) -> set[str]:
    """Labels of the rules that are not field or tag exclusions."""
    others = {r.label for r in rules.exclusions.rules if r.kind not in ("field_equals", "tag")}
    return others | {c.label for c in rules.exclusions.done_conditions}


def _restorable_labels(rules: OperationRules, static: list[ExclusionRule]) -> set[str]:
    """Reasons that can only mean "removed by a field or tag exclusion"."""
    return {r.label for r in static} - _other_labels(rules)


def field_and_tag_labels(exclusions: dict | None) -> set[str]:
    """The labels of the field and tag exclusions in an operation's `exclusions` JSON."""
    return {str(r.get("label")) for r in (exclusions or {}).get("rules") or []
            if isinstance(r, dict) and r.get("kind") in ("field_equals", "tag")}


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def apply_exclusions(session: Session, operation: Operation,
                     contact_ids: Iterable[int] | None = None,
                     now: datetime | None = None,
                     dropped_labels: Iterable[str] = ()) -> tuple[int, int]:
    """Remove the operation's waiting targets that a field or tag exclusion matches (all of
    them, or those of `contact_ids` and, for household-wide rules, their households); bring
    back those removed by such a rule that no longer match (or by a rule since dropped,
    labelled `dropped_labels`). Returns (removed, restored)."""
    rules = rules_for(operation)
    static = _static_rules(rules)
    labels = _restorable_labels(rules, static) | (set(dropped_labels) - _other_labels(rules))
    if not static and not labels:
        return 0, 0
    household_wide = rules.exclusions.household_wide
    t, c = Target.__table__, Contact.__table__
    wanted = [t.c.operation_id == operation.id,
              or_(t.c.state == TargetState.WAITING,
                  (t.c.state == TargetState.REMOVED) & t.c.reason.in_(sorted(labels)))]
    if contact_ids is not None:
        ids = sorted(set(contact_ids))
        if not ids:
            return 0, 0
        if household_wide:
            homes = select(c.c.household_id).where(c.c.id.in_(ids),
                                                   c.c.household_id.is_not(None))
            ids = sorted(set(ids) | set(session.scalars(
                select(c.c.id).where(c.c.household_id.in_(homes)))))
        wanted.append(t.c.contact_id.in_(ids))
    rows = session.execute(
        select(t.c.id, t.c.state, t.c.contact_id, c.c.household_id)
        .join(c, c.c.id == t.c.contact_id).where(*wanted)).all()
    if not rows:
        return 0, 0
    # The people whose values decide: the targets' contacts, and their households.
    people = {row.contact_id for row in rows}
    households = {row.household_id for row in rows if row.household_id is not None}
    matched = _matching_rules(session, operation.organization_id, static, people,
                              households if household_wide else set())
    by_home: dict[int, int] = {}
    if household_wide:
        for home, first in matched.values():
            if home is not None:
                by_home[home] = min(first, by_home.get(home, first))
    remove: dict[str, list[int]] = {}
    restore: list[int] = []
    for row in rows:
        hits = [matched[row.contact_id][1]] if row.contact_id in matched else []
        if household_wide and row.household_id in by_home:
            hits.append(by_home[row.household_id])
        if hits and row.state == TargetState.WAITING:
            remove.setdefault(static[min(hits)].label, []).append(row.id)
        elif not hits and row.state == TargetState.REMOVED:
            restore.append(row.id)
    for label, target_ids in remove.items():
        for chunk in _chunks(target_ids):
            session.execute(update(t).where(t.c.id.in_(chunk),
                                            t.c.state == TargetState.WAITING)
                            .values(state=TargetState.REMOVED, reason=label))
    when = _now(now)
    for chunk in _chunks(restore):
        session.execute(update(t).where(t.c.id.in_(chunk), t.c.state == TargetState.REMOVED)
                        .values(state=TargetState.WAITING, reason=None,
                                next_eligible_at=func.coalesce(t.c.next_eligible_at, when)))
    return sum(len(v) for v in remove.values()), len(restore)


def _matching_rules(session: Session, org_id: int, static: list[ExclusionRule],
                    people: set[int], households: set[int]
                    ) -> dict[int, tuple[int | None, int]]:
    """contact id -> (household id, index of the first rule it matches), for the matching
    ones among `people` and the members of `households`."""
    c = Contact.__table__
    builtin = sorted({r.field for r in static
                      if r.kind == "field_equals" and r.field in BUILTIN_FIELDS})
    custom = any(r.kind == "field_equals" and r.field not in BUILTIN_FIELDS for r in static)
    columns = [c.c.id, c.c.household_id, *(c.c[name] for name in builtin)]
    if custom:
        columns.append(c.c.custom)
    tags = {r.tag.casefold() for r in static if r.kind == "tag"}
    found: dict[int, tuple[int | None, int]] = {}
    person_ids = sorted(people)
    home_ids = sorted(households)
    for chunk_people, chunk_homes in _pairs(person_ids, home_ids):
        where = or_(c.c.id.in_(chunk_people), c.c.household_id.in_(chunk_homes))
        rows = session.execute(select(*columns).where(c.c.organization_id == org_id,
                                                      where)).all()
        tagged: dict[int, set[str]] = {}
        if tags:
            ids = [row.id for row in rows]
            for sub in _chunks(ids):
                for contact_id, name in session.execute(
                        select(contact_tags.c.contact_id, func.lower(Tag.name))
                        .join(Tag, Tag.id == contact_tags.c.tag_id)
                        .where(contact_tags.c.contact_id.in_(sub))):
                    tagged.setdefault(contact_id, set()).add(name.casefold())
        for row in rows:
            for index, rule in enumerate(static):
                if rule.kind == "tag":
                    hit = rule.tag.casefold() in tagged.get(row.id, ())
                elif rule.field in BUILTIN_FIELDS:
                    hit = values_match(getattr(row, rule.field), rule.value)
                else:
                    hit = values_match((row.custom or {}).get(rule.field), rule.value)
                if hit:
                    found[row.id] = (row.household_id, index)
                    break
    return found


def _pairs(people: list[int], homes: list[int]) -> Iterable[tuple[list[int], list[int]]]:
    """Chunks of both lists side by side (either may run out first)."""
    for start in range(0, max(len(people), len(homes)), _CHUNK):
        yield people[start:start + _CHUNK], homes[start:start + _CHUNK]


def contacts_changed(session: Session, org_id: int, contact_ids: Iterable[int] | None = None,
                     now: datetime | None = None) -> int:
    """Re-apply field and tag exclusions of the organization's operations that are not ended,
    after contacts changed (`contact_ids`, or all of them). Returns how many targets moved."""
    ids = None if contact_ids is None else list(contact_ids)
    operations = session.scalars(select(Operation).where(
        Operation.organization_id == org_id, Operation.state != OperationState.ENDED)).all()
    moved = 0
    for operation in operations:
        removed, restored = apply_exclusions(session, operation, ids, now)
        moved += removed + restored
    return moved
