"""Per-target checks the SQL filter leaves to Python: numbers, opt-outs, exclusions, the gap.

The candidate query is kept lean (one index probe); the few candidates it returns are checked
here. A candidate that fails is put aside in the database (a "hold" with a reason and a time
to look again, or removed for good), so the next query does not return it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import (
    Contact,
    ContactPhone,
    OptOut,
    PhoneStatus,
    Tag,
    Target,
    TargetState,
    contact_tags,
)
from ringround.operation_rules import ExclusionRule, Exclusions, OperationRules
from ringround.optouts import phone_hmac
from ringround.queue._sql import opted_out_statement

# How long a target without a usable number (or opted out) waits before it is looked at
# again: the organizer may add a number or the person may text START in the meantime.
RECHECK_AFTER = timedelta(hours=6)

# Contact attributes a `field_equals` exclusion may read (anything else is a custom field).
BUILTIN_FIELDS = frozenset({
    "first_name", "last_name", "email", "street", "postcode", "city", "country", "language",
    "source", "time_zone",
})

TRUE_WORDS = frozenset({"yes", "true", "1", "y", "on"})
FALSE_WORDS = frozenset({"no", "false", "0", "n", "off"})


def _norm(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().casefold() if value is not None else ""
    if text in TRUE_WORDS:
        return "yes"
    if text in FALSE_WORDS:
        return "no"
    return text


def values_match(actual, expected) -> bool:
    """A loose equality for fields and answers: "Yes" == True == "yes"; lists contain."""
    if isinstance(actual, list | tuple | set):
        return any(values_match(item, expected) for item in actual)
    if actual is None or actual == "":
        return False
    return _norm(actual) == _norm(expected)


def answer_matches(answers: dict, question: str, expected) -> bool:
    """True if `question` was answered (with `expected`, or with anything when None)."""
    if question not in answers:
        return False
    value = answers[question]
    if value is None or value == "" or value == []:
        return False
    return expected is None or values_match(value, expected)


def contact_field(contact: Contact, name: str):
    if name in BUILTIN_FIELDS:
        return getattr(contact, name)
    return (contact.custom or {}).get(name)


@dataclass(frozen=True)
class Verdict:
    """What the checks decided about one candidate target."""

    ok: bool
    phone_id: int | None = None
    phone_e164: str | None = None
    state: TargetState = TargetState.WAITING  # for a failed check: waiting (hold) or removed
    reason: str | None = None
    until: datetime | None = None  # a hold: look again then
    skip: bool = False  # busy elsewhere right now: leave it as it is, try another
    # The opt-out check was left to the lease UPDATE (the number's keyed hash).
    deferred_digest: str | None = None


def usable_phone(session: Session, contact: Contact, hmac_key: bytes | None = None,
                 ) -> tuple[ContactPhone | None, str | None]:
    """The first number that is OK and not opted out, else None and why (`no_number` or
    `opted_out`)."""
    phones = [p for p in contact.phones if p.status == PhoneStatus.OK]
    if not phones:
        return None, "no_number"
    digests = {p.id: phone_hmac(p.e164, hmac_key) for p in phones}
    opted = set(session.scalars(select(OptOut.phone_hmac).where(
        OptOut.organization_id == contact.organization_id,
        OptOut.phone_hmac.in_(list(digests.values())))))
    for phone in phones:
        if digests[phone.id] not in opted:
            return phone, None
    return None, "opted_out"


def _tag_names(session: Session, contact_ids: list[int]) -> set[str]:
    return set(session.scalars(
        select(Tag.name).join(contact_tags, contact_tags.c.tag_id == Tag.id)
        .where(contact_tags.c.contact_id.in_(contact_ids))))


def _household(session: Session, contact: Contact) -> list[Contact]:
    if contact.household_id is None:
        return [contact]
    return list(session.scalars(select(Contact).where(
        Contact.household_id == contact.household_id)))


def static_exclusion(session: Session, contact: Contact, rules: OperationRules
                     ) -> ExclusionRule | None:
    """The first field or tag exclusion that applies (to the household, when household-wide)."""
    wanted = [r for r in rules.exclusions.rules if r.kind in ("field_equals", "tag")]
    if not wanted:
        return None
    people = _household(session, contact) if rules.exclusions.household_wide else [contact]
    tags = None
    for rule in wanted:
        if rule.kind == "field_equals":
            if any(values_match(contact_field(p, rule.field), rule.value) for p in people):
                return rule
        else:
            if tags is None:
                tags = {t.casefold() for t in _tag_names(session, [p.id for p in people])}
            if rule.tag.casefold() in tags:
                return rule
    return None


@lru_cache(maxsize=256)
def _exclusion_kinds(exclusions: Exclusions) -> tuple[str | None, bool]:
    """The opted-out exclusion's label, and whether any field or tag exclusion applies."""
    label = next((r.label for r in exclusions.rules if r.kind == "opted_out"), None)
    return label, any(r.kind in ("field_equals", "tag") for r in exclusions.rules)


def opted_out_label(rules: OperationRules) -> str | None:
    """The label of the operation's opted-out exclusion, if it has one."""
    return _exclusion_kinds(rules.exclusions)[0]


def check_candidate(session: Session, row, rules: OperationRules, org_id: int,
                    now: datetime, lock_siblings: bool, call_gap_minutes: int,
                    defer_optout: bool = False) -> Verdict:
    """Whether a candidate target may be called now, and on which number.

    `row` comes from the candidate query (see leasing._Picker): the target with its contact's
    flags, its first OK number and how many other operations hold the person. With
    `defer_optout`, the first number's opt-out is not looked up here: the verdict carries its
    keyed hash for the lease UPDATE to check (one round trip fewer).
    """
    opt_label, static = _exclusion_kinds(rules.exclusions)
    if row.do_not_contact:
        if opt_label:
            return Verdict(False, state=TargetState.REMOVED, reason=opt_label)
        return Verdict(False, reason="opted_out", until=now + RECHECK_AFTER)
    contact = None
    if static:
        contact = session.get(Contact, row.contact_id)
        rule = static_exclusion(session, contact, rules)
        if rule is not None:
            return Verdict(False, state=TargetState.REMOVED, reason=rule.label)
    if row.phone_id is None:
        return Verdict(False, reason="no_number", until=now + RECHECK_AFTER)
    phone_id, e164 = row.phone_id, row.phone_e164
    digest = None
    if defer_optout:
        digest = phone_hmac(e164)
    elif _opted_out(session, org_id, e164):
        contact = contact or session.get(Contact, row.contact_id)
        phone, why = usable_phone(session, contact)
        if phone is None:
            if why == "opted_out" and opt_label:
                return Verdict(False, state=TargetState.REMOVED, reason=opt_label)
            return Verdict(False, reason=why, until=now + RECHECK_AFTER)
        phone_id, e164 = phone.id, phone.e164
    if row.siblings:
        gap = gap_hold(session, row.id, row.contact_id, call_gap_minutes, now, lock_siblings)
        if gap is not None:
            return gap
    return Verdict(True, phone_id=phone_id, phone_e164=e164, deferred_digest=digest)


def _opted_out(session: Session, org_id: int, e164: str) -> bool:
    return session.execute(opted_out_statement(), {
        "org_id": org_id, "digest": phone_hmac(e164)}).first() is not None


def gap_hold(session: Session, target_id: int, contact_id: int, call_gap_minutes: int,
             now: datetime, lock_siblings: bool) -> Verdict | None:
    """The organization-wide gap: this person's targets in other operations.

    On PostgreSQL the sibling rows are locked (SKIP LOCKED): if another transaction holds one,
    someone is leasing or recording this person right now, so we leave the candidate alone.
    """
    t = Target.__table__
    stmt = select(t.c.id, t.c.state, t.c.last_attempt_at, t.c.lease_expires_at).where(
        t.c.contact_id == contact_id, t.c.id != target_id)
    siblings = session.execute(stmt).all()
    if not siblings:
        return None
    if lock_siblings:
        locked = session.execute(
            select(t.c.id).where(t.c.id.in_([s.id for s in siblings]))
            .with_for_update(skip_locked=True)).all()
        if len(locked) < len(siblings):
            return Verdict(False, skip=True)
    gap = timedelta(minutes=call_gap_minutes or 0)
    until = None
    for sibling in siblings:
        if (sibling.state == TargetState.LEASED and sibling.lease_expires_at is not None
                and sibling.lease_expires_at > now):
            # Someone else holds this person in another operation: wait for their result.
            candidate = sibling.lease_expires_at
            until = max(until, candidate) if until else candidate
        if gap and sibling.last_attempt_at is not None and sibling.last_attempt_at + gap > now:
            candidate = sibling.last_attempt_at + gap
            until = max(until, candidate) if until else candidate
    if until is None:
        return None
    return Verdict(False, reason="called_recently", until=until)
