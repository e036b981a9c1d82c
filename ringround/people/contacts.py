"""One contact at a time: finding it, do-not-contact (per person and per number), reviewing
the wrong-number and disconnected marks callers put on numbers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import Contact, ContactPhone, OptOut, PhoneStatus, utcnow
from ringround.optouts import (
    opt_in_number,
    opt_out_number,
    optout_key,
    phone_hmac,
    put_back_in_operations,
    take_out_of_operations,
)


def get_contact(session: Session, org_id: int, contact_id: int) -> Contact | None:
    """The contact, if it belongs to the organization."""
    contact = session.get(Contact, contact_id)
    return contact if contact is not None and contact.organization_id == org_id else None


def get_phone(session: Session, org_id: int, phone_id: int) -> ContactPhone | None:
    phone = session.get(ContactPhone, phone_id)
    return phone if phone is not None and phone.organization_id == org_id else None


def opted_out_numbers(session: Session, org_id: int, contact: Contact) -> set[str]:
    """The contact's numbers on the organization's opt-out registry."""
    key = optout_key()
    digests = {phone_hmac(p.e164, key): p.e164 for p in contact.phones}
    if not digests:
        return set()
    found = session.scalars(select(OptOut.phone_hmac).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac.in_(list(digests))))
    return {digests[d] for d in found}


def set_do_not_contact(session: Session, contact: Contact, value: bool,
                       actor_id: int | None) -> None:
    """Mark a person as not to be called or texted (or lift it): their targets leave the
    organization's running operations at once (or come back)."""
    contact.do_not_contact = value
    contact.updated_at = utcnow()
    if value:
        take_out_of_operations(session, contact.organization_id, [contact.id])
    else:
        put_back_in_operations(session, contact.organization_id, [contact.id])
    record_audit(session, contact.organization_id, actor_id,
                 "contact.do_not_contact" if value else "contact.may_contact",
                 "contact", contact.id)


def set_number_opted_out(session: Session, phone: ContactPhone, value: bool,
                         actor_id: int | None) -> None:
    """Put a number on the organization's opt-out registry (a keyed hash that outlives the
    contact), or take it off."""
    if value:
        opt_out_number(session, phone.organization_id, phone.e164, "organizer")
    else:
        opt_in_number(session, phone.organization_id, phone.e164)
    record_audit(session, phone.organization_id, actor_id,
                 "phone.opted_out" if value else "phone.opted_in", "contact", phone.contact_id)


def reset_phone_status(session: Session, phone: ContactPhone, actor_id: int | None) -> None:
    """Undo a wrong-number or disconnected mark after review."""
    previous = phone.status
    phone.status = PhoneStatus.OK
    record_audit(session, phone.organization_id, actor_id, "phone.status_reset", "contact",
                 phone.contact_id, {"previous": str(previous)})
