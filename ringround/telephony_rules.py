"""Telephony rules that need no provider: opt-out and opt-in (the words that ask for them are
in ringround.sms_keywords), quiet hours, which campaign number an organization or operation
uses, and follow-up eligibility."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from flask_babel import gettext as _
from phonenumbers import timezone as phone_timezones
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import (
    Consent,
    Contact,
    ContactPhone,
    Operation,
    OperationState,
    Organization,
    PhoneStatus,
    Target,
    TargetState,
    TextOptOut,
)
from ringround.optouts import is_opted_out, opt_in_number, opt_out_number, phone_hmac

OPTED_OUT_REASON = "opted_out"
DEFAULT_TEXT_WINDOW = (time(9, 0), time(21, 0))


# Words that answer a sign-up's "reply YES" (and, alone, opt back in).
START_WORDS = frozenset({"START", "YES", "UNSTOP"})


def contacts_with_number(session: Session, org_id: int, e164: str) -> list[Contact]:
    """The organization's contacts that have this number."""
    return list(session.scalars(
        select(Contact).join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(ContactPhone.organization_id == org_id, ContactPhone.e164 == e164)
    ))


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


def opt_out(session: Session, org_id: int, e164: str, source: str) -> bool:
    """Stop calling and texting `e164` in the whole organization, at once.

    Records the opt-out, marks its contacts do-not-contact and takes their targets out of every
    operation that is not over (leased ones too: the lease cannot be recorded as a call).
    True when the number was not opted out before.
    """
    new = opt_out_number(session, org_id, e164, source)
    contact_ids = [c.id for c in contacts_with_number(session, org_id, e164)]
    if contact_ids:
        session.execute(update(Contact).where(Contact.id.in_(contact_ids))
                        .values(do_not_contact=True))
        take_out_of_operations(session, org_id, contact_ids)
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


def may_contact(session: Session, org_id: int, e164: str) -> bool:
    """False when the number opted out or one of its contacts is marked do-not-contact."""
    if is_opted_out(session, org_id, e164):
        return False
    return not any(c.do_not_contact for c in contacts_with_number(session, org_id, e164))


def opt_out_of_texts(session: Session, org_id: int, e164: str, source: str) -> bool:
    """Stop texting `e164` in the whole organization (calls go on): the carrier said the
    person unsubscribed from texts (21610). True when it is new."""
    digest = phone_hmac(e164)
    if session.scalar(select(TextOptOut.id).where(TextOptOut.organization_id == org_id,
                                                  TextOptOut.phone_hmac == digest)):
        return False
    session.add(TextOptOut(organization_id=org_id, phone_hmac=digest, source=source))
    record_audit(session, org_id, None, "optout.texts_added", details={"source": source})
    session.flush()
    return True


def may_text(session: Session, org_id: int, e164: str) -> bool:
    """`may_contact`, and not unsubscribed from texts at the carrier."""
    if not may_contact(session, org_id, e164):
        return False
    return session.scalar(select(TextOptOut.id).where(
        TextOptOut.organization_id == org_id,
        TextOptOut.phone_hmac == phone_hmac(e164))) is None


def mark_number_bad(session: Session, org_id: int, e164: str) -> int:
    """The provider says `e164` is not a valid or reachable number (21211, 21214): mark it
    "wrong number" on the organization's contacts, as a caller's result would (organizers
    can undo it). Returns how many numbers were marked."""
    phones = session.scalars(select(ContactPhone).where(
        ContactPhone.organization_id == org_id, ContactPhone.e164 == e164,
        ContactPhone.status == PhoneStatus.OK)).all()
    for phone in phones:
        phone.status = PhoneStatus.WRONG_NUMBER
    if phones:
        record_audit(session, org_id, None, "phone.marked_by_provider",
                     details={"status": PhoneStatus.WRONG_NUMBER.value})
    session.flush()
    return len(phones)


def has_sms_consent(contact: Contact) -> bool:
    """True when the contact's latest SMS consent record grants texting."""
    sms = [c for c in contact.consents if c.channel == "sms"]
    if not sms:
        return False
    return max(sms, key=lambda c: (c.recorded_at, c.id or 0)).granted


def local_zone(e164: str, contact_zone: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The contact's time zone; else the number's, when it has only one; else `fallback`."""
    candidates = [contact_zone] if contact_zone else []
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        zones = ()
    if len(zones) == 1 and zones[0] != "Etc/Unknown":
        candidates.append(zones[0])
    candidates.append(fallback)
    for name in candidates:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def within_window(now: datetime, zone: ZoneInfo, start: time, end: time,
                  weekdays: str = "0123456") -> bool:
    """True when `now` falls inside [start, end) on an allowed weekday, in `zone`."""
    local = now.astimezone(zone)
    if str(local.weekday()) not in weekdays:
        return False
    moment = local.time()
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # a window across midnight


def quiet_hours(now: datetime, e164: str, contact: Contact | None, org: Organization,
                operation: Operation | None = None) -> bool:
    """True when it is outside the contact's local window: no call and no text now."""
    zone = local_zone(e164, contact.time_zone if contact else None, org.time_zone)
    if operation is not None:
        return not within_window(now, zone, operation.window_start, operation.window_end,
                                 operation.weekdays)
    return not within_window(now, zone, *DEFAULT_TEXT_WINDOW)


def campaign_number(org: Organization, operation: Operation | None,
                    default: str | None) -> str | None:
    """The number calls and texts come from: the operation's, else the organization's."""
    if operation is not None and operation.campaign_number:
        return operation.campaign_number
    return org.campaign_number or default


class CampaignNumberError(ValueError):
    """A campaign number that cannot be used, with a message fit to show the organizer."""


def _number_users(session: Session, number: str) -> set[int]:
    """Organizations whose own number, or one of whose operations' numbers, is `number`."""
    org_ids = set(session.scalars(select(Organization.id).where(
        Organization.campaign_number == number)))
    org_ids.update(session.scalars(select(Operation.organization_id).where(
        Operation.campaign_number == number).distinct()))
    return org_ids


def check_campaign_number(session: Session, org_id: int, number: str | None,
                          default: str | None) -> None:
    """Raise CampaignNumberError unless `number` may be the organization's own number: a
    number belongs to one organization on the instance (so inbound texts, calls and STOP have
    exactly one home), and the shared default number belongs to none."""
    if not number:
        return
    if number == default:
        raise CampaignNumberError(_(
            "This is the instance's shared default number; leave the field empty to use it."))
    if _number_users(session, number) - {org_id}:
        raise CampaignNumberError(_(
            "Another organization on this Ringround already uses this number."))


def set_campaign_number(session: Session, org: Organization, number: str | None,
                        default: str | None) -> None:
    """Give the organization its own campaign number (None: the shared default), checked by
    `check_campaign_number` and, against a concurrent claim, by the database."""
    check_campaign_number(session, org.id, number, default)
    try:
        with session.begin_nested():
            org.campaign_number = number
            session.flush()
    except IntegrityError as error:
        raise CampaignNumberError(_(
            "Another organization on this Ringround already uses this number.")) from error


def organizations_sending_from(session: Session, number: str, default: str | None
                               ) -> set[int]:
    """Every organization whose calls or texts may come from `number`: its owner, and for the
    shared default number every organization without a number of its own."""
    org_ids = _number_users(session, number)
    if number == default:
        org_ids.update(session.scalars(select(Organization.id).where(
            Organization.campaign_number.is_(None))))
    return org_ids


def organization_for_number(session: Session, number: str, default: str | None,
                            remote: str | None = None) -> Organization | None:
    """Which organization a campaign number belongs to (for inbound texts and calls).

    An organization's own number is unique (database constraint); a number found only on
    operations of several organizations (set before numbers were checked), and the shared
    default number, go to the organization that knows the sender, else to none."""
    org = session.scalar(select(Organization).where(Organization.campaign_number == number))
    if org is not None:
        return org
    candidates = set(session.scalars(select(Operation.organization_id).where(
        Operation.campaign_number == number).distinct()))
    if not candidates and number != default:
        return None
    if not candidates:
        # The shared default number: the only organization, else the sender's.
        orgs = session.scalars(select(Organization).limit(2)).all()
        if len(orgs) == 1:
            return orgs[0]
    elif len(candidates) == 1:
        return session.get(Organization, candidates.pop())
    if remote:
        query = select(ContactPhone.organization_id).where(ContactPhone.e164 == remote)
        if candidates:
            query = query.where(ContactPhone.organization_id.in_(candidates))
        org_id = session.scalar(query.order_by(ContactPhone.id.desc()).limit(1))
        if org_id is not None:
            return session.get(Organization, org_id)
    return None


def record_sms_consent(session: Session, contact: Contact, text: str, source: str) -> Consent:
    """Record that the contact agreed to texts (the exact words they were shown)."""
    consent = Consent(contact=contact, channel="sms", granted=True, text=text, source=source)
    session.add(consent)
    return consent


CALL_IN_CODE_DIGITS = 6


def _code_hmac(code: str) -> str:
    import hashlib
    import hmac

    from ringround.optouts import optout_key

    return hmac.new(optout_key(), b"call-in:" + code.encode(), hashlib.sha256).hexdigest()


def issue_call_in_code(session: Session, operation_id: int, user_id: int) -> str:
    """A new keypad code for this volunteer in this operation (replacing any earlier one).

    Only a keyed hash is stored, so the code is shown once, when it is issued."""
    import secrets

    from ringround.models import CallInCode

    row = session.scalar(select(CallInCode).where(CallInCode.operation_id == operation_id,
                                                  CallInCode.user_id == user_id))
    while True:
        code = f"{secrets.randbelow(10 ** CALL_IN_CODE_DIGITS):0{CALL_IN_CODE_DIGITS}d}"
        digest = _code_hmac(code)
        if session.scalar(select(CallInCode.id).where(CallInCode.code_hmac == digest)) is None:
            break
    if row is None:
        session.add(CallInCode(operation_id=operation_id, user_id=user_id, code_hmac=digest))
    else:
        row.code_hmac = digest
    session.flush()
    return code


def find_call_in_code(session: Session, code: str) -> tuple[int, int] | None:
    """(operation id, user id) for a keyed-in code, or None."""
    from ringround.models import CallInCode

    if not code.isdigit() or len(code) != CALL_IN_CODE_DIGITS:
        return None
    row = session.scalar(select(CallInCode).where(CallInCode.code_hmac == _code_hmac(code)))
    return (row.operation_id, row.user_id) if row else None


def erase_telephony_records(session: Session, org_id: int, contact_id: int,
                            numbers: list[str]) -> int:
    """Erasure: delete the texts and SMS conversations of a contact (by id and by number) and
    the simulator's records of those numbers. Call legs lose the contact by their foreign key.
    Returns how many rows went."""
    from sqlalchemy import delete, or_

    from ringround.models import Conversation, Message, SimCall, SimText

    gone = session.execute(delete(Message).where(
        Message.organization_id == org_id,
        or_(Message.contact_id == contact_id, Message.remote_e164.in_(numbers)))).rowcount or 0
    gone += session.execute(delete(Conversation).where(
        Conversation.organization_id == org_id,
        or_(Conversation.contact_id == contact_id,
            Conversation.remote_e164.in_(numbers)))).rowcount or 0
    if numbers:
        gone += session.execute(delete(SimText).where(or_(
            SimText.to_number.in_(numbers), SimText.from_number.in_(numbers)))).rowcount or 0
        gone += session.execute(delete(SimCall).where(or_(
            SimCall.to_number.in_(numbers), SimCall.from_number.in_(numbers)))).rowcount or 0
    return gone
