"""Opting out: numbers and people that must never be called or texted again, organization-wide.

`opt_out` is the one way in, whoever asks: STOP (by text or by voice), a caller's "do not
call" result, the carrier's 21610 (texts only) and the erasure of a person marked
do-not-contact. `opt_in` undoes what STOP did when the person texts START.

Numbers are kept as a keyed hash (HMAC-SHA256 with a server secret), not in the clear and not
as a plain hash (a plain hash of a phone number is trivially reversed by trying every number).
So an opt-out outlives the erasure of the person, and a re-imported number stays suppressed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.keys import app_keys
from ringround.models import (
    Contact,
    ContactPhone,
    Operation,
    OperationState,
    OptOut,
    Target,
    TargetState,
    TextOptOut,
)

OPTED_OUT_REASON = "opted_out"


def optout_key() -> bytes:
    """The HMAC key, derived from the app's SECRET_KEY (so it needs no extra setting)."""
    return app_keys().optout


def phone_hmac(e164: str, key: bytes | None = None) -> str:
    """The keyed hash of an E.164 number, as 64 hex characters."""
    return hmac.new(key or optout_key(), e164.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- the use case


def opt_out(session: Session, org_id: int, e164: str | None, source: str, *,
            texts_only: bool = False, contact_ids: Iterable[int] = ()) -> bool:
    """Stop calling and texting `e164` in the whole organization, at once; True when new.

    Records the number (a keyed hash), marks its contacts, and the `contact_ids` given (a
    caller's "do not call" names the person called), do-not-contact, and takes their targets
    out of every operation that is not over (leased ones too: the lease cannot be recorded as
    a call). `texts_only` (the carrier said the person unsubscribed from texts, 21610) stops
    texts only: calls go on. The caller commits."""
    if texts_only:
        return _opt_out_of_texts(session, org_id, e164, source) if e164 else False
    new = bool(e164) and opt_out_number(session, org_id, e164, source)
    people = set(contact_ids)
    if e164:
        people.update(c.id for c in contacts_with_number(session, org_id, e164))
    if people:
        people_ids = sorted(people)
        session.execute(update(Contact).where(Contact.id.in_(people_ids))
                        .values(do_not_contact=True))
        take_out_of_operations(session, org_id, people_ids)
    if new:
        record_audit(session, org_id, None, "optout.added", details={"source": source})
    session.flush()
    return new


def opt_in(session: Session, org_id: int, e164: str, source: str) -> bool:
    """Undo an opt-out the person asked for (START): the targets it removed wait again."""
    lifted = opt_in_number(session, org_id, e164)
    contact_ids = [c.id for c in contacts_with_number(session, org_id, e164)]
    if lifted and contact_ids:
        session.execute(update(Contact).where(Contact.id.in_(contact_ids))
                        .values(do_not_contact=False))
        put_back_in_operations(session, org_id, contact_ids)
    if lifted:
        record_audit(session, org_id, None, "optout.lifted", details={"source": source})
    session.flush()
    return lifted


def _opt_out_of_texts(session: Session, org_id: int, e164: str, source: str) -> bool:
    digest = phone_hmac(e164)
    if session.scalar(select(TextOptOut.id).where(TextOptOut.organization_id == org_id,
                                                  TextOptOut.phone_hmac == digest)):
        return False
    session.add(TextOptOut(organization_id=org_id, phone_hmac=digest, source=source))
    record_audit(session, org_id, None, "optout.texts_added", details={"source": source})
    session.flush()
    return True


# ---------------------------------------------------------------- questions


def is_opted_out(session: Session, org_id: int, e164: str) -> bool:
    return session.scalar(select(OptOut.id).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac == phone_hmac(e164))) is not None


def may_contact(session: Session, org_id: int, e164: str) -> bool:
    """False when the number opted out or one of its contacts is marked do-not-contact."""
    if is_opted_out(session, org_id, e164):
        return False
    return not any(c.do_not_contact for c in contacts_with_number(session, org_id, e164))


def may_text(session: Session, org_id: int, e164: str) -> bool:
    """`may_contact`, and not unsubscribed from texts at the carrier."""
    if not may_contact(session, org_id, e164):
        return False
    return session.scalar(select(TextOptOut.id).where(
        TextOptOut.organization_id == org_id,
        TextOptOut.phone_hmac == phone_hmac(e164))) is None


def contacts_with_number(session: Session, org_id: int, e164: str) -> list[Contact]:
    """The organization's contacts that have this number."""
    return list(session.scalars(
        select(Contact).join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(ContactPhone.organization_id == org_id, ContactPhone.e164 == e164)
    ))


# ---------------------------------------------------------------- the parts


def opt_out_number(session: Session, org_id: int, e164: str, source: str) -> bool:
    """Record that `e164` must not be contacted by `org_id` (the registry only: `opt_out`
    does the rest). True if it is new."""
    digest = phone_hmac(e164)
    exists = session.scalar(select(OptOut.id).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac == digest))
    if exists:
        return False
    session.add(OptOut(organization_id=org_id, phone_hmac=digest, source=source))
    session.flush()
    return True


def opt_in_number(session: Session, org_id: int, e164: str) -> bool:
    """Lift an opt-out from the registry. True if there was one."""
    row = session.scalar(select(OptOut).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac == phone_hmac(e164)))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def _open_operation_ids(org_id: int):
    return select(Operation.id).where(
        Operation.organization_id == org_id, Operation.state != OperationState.ENDED
    )


def take_out_of_operations(session: Session, org_id: int, contact_ids: list[int]) -> None:
    """These people opted out (or were marked do-not-contact): their targets leave every
    operation that is not over at once (leased ones too: the lease cannot be recorded as a
    call), so no figure counts them as callable."""
    session.execute(
        update(Target).where(
            Target.contact_id.in_(contact_ids),
            Target.operation_id.in_(_open_operation_ids(org_id)),
            Target.state.in_([TargetState.WAITING, TargetState.LEASED]),
        ).values(state=TargetState.REMOVED, reason=OPTED_OUT_REASON, leased_to_id=None,
                 lease_expires_at=None).execution_options(synchronize_session="fetch")
    )


def put_back_in_operations(session: Session, org_id: int, contact_ids: list[int]) -> None:
    """Undo `take_out_of_operations`: the targets it removed wait again."""
    session.execute(
        update(Target).where(
            Target.contact_id.in_(contact_ids),
            Target.operation_id.in_(_open_operation_ids(org_id)),
            Target.state == TargetState.REMOVED, Target.reason == OPTED_OUT_REASON,
        ).values(state=TargetState.WAITING, reason=None)
        .execution_options(synchronize_session="fetch")
    )
