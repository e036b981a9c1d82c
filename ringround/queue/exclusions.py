"""Field and tag exclusions applied to whole sets of targets, as soon as rules or contacts change.

The lease re-checks every candidate (`checks.static_exclusion`), but the dashboard counts
targets in SQL: a target an exclusion will remove must already be `removed` when it is
counted. So this pass runs when an operation's exclusions are saved, when targets are created,
and when contacts change (import, bulk tags, a caller's field edit; do-not-contact and
opt-outs have their own: `optouts.take_out_of_operations`). It reads the few columns
the rules need with the targets, decides with the same `values_match` as the lease, and
writes one UPDATE per label for the targets that change. Targets removed by a field or tag
exclusion whose person no longer matches come back (waiting, not yet called again); leased
targets are left to their result.
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
        ids = set(contact_ids)
        if household_wide and ids:
            homes = select(c.c.household_id).where(c.c.id.in_(sorted(ids)),
                                                   c.c.household_id.is_not(None))
            ids |= set(session.scalars(select(c.c.id).where(c.c.household_id.in_(homes))))
        if not ids:
            return 0, 0
        wanted.append(t.c.contact_id.in_(sorted(ids)))
    # One pass over the targets with the few contact columns the rules read.
    values = _value_columns(static)
    rows = session.execute(
        select(t.c.id, t.c.state, t.c.contact_id, c.c.household_id, *values)
        .join(c, c.c.id == t.c.contact_id).where(*wanted)).all()
    if not rows:
        return 0, 0
    tagged = _tagged(session, operation.organization_id, static)
    first = {row.contact_id: _first_rule(row, static, tagged) for row in rows}
    by_home = _household_hits(session, static, tagged, values, rows, first) \
        if household_wide else {}
    remove: dict[str, list[int]] = {}
    restore: list[int] = []
    for row in rows:
        hits = [i for i in (first[row.contact_id], by_home.get(row.household_id))
                if i is not None]
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


def _value_columns(static: list[ExclusionRule]) -> list:
    """The contact columns field rules read, labelled `f_<name>` (`f_custom` for custom)."""
    c = Contact.__table__
    names = sorted({r.field for r in static
                    if r.kind == "field_equals" and r.field in BUILTIN_FIELDS})
    if any(r.kind == "field_equals" and r.field not in BUILTIN_FIELDS for r in static):
        names.append("custom")
    return [c.c[name].label(f"f_{name}") for name in names]


def _tagged(session: Session, org_id: int, static: list[ExclusionRule]
            ) -> dict[int, set[str]]:
    """contact id -> the rules' tags it carries (casefolded), for the organization."""
    wanted = {r.tag.casefold() for r in static if r.kind == "tag"}
    if not wanted:
        return {}
    tags = {tag_id: name.casefold() for tag_id, name in session.execute(
        select(Tag.id, Tag.name).where(Tag.organization_id == org_id))
        if name.casefold() in wanted}
    found: dict[int, set[str]] = {}
    if tags:
        for contact_id, tag_id in session.execute(
                select(contact_tags.c.contact_id, contact_tags.c.tag_id)
                .where(contact_tags.c.tag_id.in_(list(tags)))):
            found.setdefault(contact_id, set()).add(tags[tag_id])
    return found


def _first_rule(row, static: list[ExclusionRule], tagged: dict[int, set[str]]) -> int | None:
    """The index of the first rule a contact's row matches, else None."""
    for index, rule in enumerate(static):
        if rule.kind == "tag":
            hit = rule.tag.casefold() in tagged.get(row.contact_id, ())
        elif rule.field in BUILTIN_FIELDS:
            hit = values_match(getattr(row, f"f_{rule.field}"), rule.value)
        else:
            hit = values_match((row.f_custom or {}).get(rule.field), rule.value)
        if hit:
            return index
    return None


def _household_hits(session: Session, static: list[ExclusionRule], tagged: dict[int, set[str]],
                    values: list, rows, first: dict[int, int | None]) -> dict[int, int]:
    """household id -> the first rule any member matches (members outside the operation
    count too), for the households of `rows`."""
    c = Contact.__table__
    hits: dict[int, int] = {}
    homes = sorted({row.household_id for row in rows if row.household_id is not None})
    for chunk in _chunks(homes):
        for member in session.execute(
                select(c.c.id.label("contact_id"), c.c.household_id, *values)
                .where(c.c.household_id.in_(chunk))):
            index = first[member.contact_id] if member.contact_id in first else \
                _first_rule(member, static, tagged)
            if index is not None:
                hits[member.household_id] = min(index, hits.get(member.household_id, index))
    return hits


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
