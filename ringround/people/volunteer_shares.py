"""A volunteer shares one contact from their phone (a vCard, or a typed name and number) with
the organization, for a person who wants to get involved (docs/contacts-import.md, "Shared by
a volunteer").

The card goes through the vCard parser of imports (`people/vcard.py`) and the contact through
the one set of merge rules (`people/merge.upsert_contact`). The consent note (where from,
what for) is stored as a vCard import stores it, plus the statement the volunteer confirmed.
What the volunteer is told never depends on what the organization already knew: the answer
for a number already in the contacts is the same as for a new one (`SharedContact.first_name`
is the name the volunteer gave, never the stored one)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import Contact, CustomField, Operation, OperationState, Organization, User
from ringround.organizations import default_region
from ringround.people.jobs import CONSENT_COLUMNS
from ringround.people.merge import upsert_contact
from ringround.people.normalize import split_full_name
from ringround.people.vcard import Card, read_cards
from ringround.phones import PhoneError, parse_phone
from ringround.queue import materialize_targets
from ringround.queue.materialize import source_contact_ids

SHARED_TAG = "shared by volunteer"
# The consent note's "where from", as a vCard upload's `consent_source` (stored, not shown
# to the volunteer: the organizer's data, in the organizer's words).
SHARED_SOURCE = "shared by a volunteer"
MAX_CARD_BYTES = 1024 * 1024  # one contact; phones add a photo, which is skipped
MAX_NAME = 120
MAX_PURPOSE = 500
# The parts of a card kept: not NOTE (the volunteer's own notes about the person).
_CARD_FIELDS = ("email", "street", "postcode", "city", "country")


class ShareError(ValueError):
    """A share refused, with a message for the volunteer (nothing was stored)."""


@dataclass(frozen=True)
class SharedContact:
    """What a share did. Only `first_name` (as the volunteer gave it) may be shown to them."""

    first_name: str
    contact_id: int
    created: bool
    targeted: bool


def card_from_file(data: bytes) -> Card:
    """The one card of a shared `.vcf` file. Raises ShareError for a file that is not a
    vCard, is too big, or holds several cards (a share is one person, not an address book)."""
    if len(data) > MAX_CARD_BYTES:
        raise ShareError(_("That file is too big for one contact card."))
    cards = list(read_cards(io.BytesIO(data)))
    if not cards:
        raise ShareError(_("That file is not a contact card (.vcf). Share the contact "
                           "again, or type the name and number."))
    if len(cards) > 1:
        raise ShareError(_("That file holds %(count)s contacts. Share one person at a time.",
                           count=len(cards)))
    return cards[0]


def typed_card(first_name: str, last_name: str, phone: str) -> Card:
    """A card from a typed name and number, so both ways in take the same path."""
    card = Card(number=1, first_name=first_name.strip(), last_name=last_name.strip())
    if phone.strip():
        card.phones["phone"].append(phone.strip())
    return card


def _names(card: Card) -> tuple[str, str]:
    first, last = card.first_name.strip(), card.last_name.strip()
    if not (first or last) and card.full_name.strip():
        first, last = split_full_name(card.full_name.strip())
    return first[:MAX_NAME], last[:MAX_NAME]


def _numbers(card: Card, region: str | None) -> list[str]:
    """The card's numbers (mobiles first) that are valid, in E.164."""
    raw = card.phones["mobile"] + card.phones["phone"] + card.phones["landline"]
    parsed = [parse_phone(number, region) for number in raw]
    return list(dict.fromkeys(p.e164 for p in parsed if not isinstance(p, PhoneError)))


def _fields(card: Card, first: str, last: str) -> dict:
    fields: dict = {"first_name": first, "last_name": last}
    fields.update({name: getattr(card, name)[:120] for name in _CARD_FIELDS
                   if getattr(card, name)})
    if fields.get("email"):
        try:
            fields["email"] = validate_email(fields["email"], check_deliverability=False
                                             ).normalized.lower()
        except EmailNotValidError:
            del fields["email"]  # the number is what matters; a bad address is dropped
    custom = {key: value for key, value in (("organization", card.organization[:200]),)
              if value}
    return {**fields, "custom": custom}


def consent_statement(org_name: str, purpose: str) -> str:
    """What the volunteer confirms, as shown on the form and stored with the consent."""
    return _("This person agreed that %(organization)s contacts them about: %(purpose)s",
             organization=org_name, purpose=purpose)


def _takes(session: Session, operation: Operation, contact_id: int) -> bool:
    """Whether the operation's own source (its list or filter) takes this contact."""
    if operation.state not in (OperationState.ACTIVE, OperationState.PAUSED):
        return False
    return session.scalar(source_contact_ids(session, operation)
                          .where(Contact.id == contact_id).limit(1)) is not None


def share_contact(session: Session, operation: Operation, volunteer: User, card: Card, *,
                  purpose: str, consented: bool, via: str) -> SharedContact:
    """Add (or merge) the person of `card` to the operation's organization, tagged
    SHARED_TAG, with the consent note; a target of `operation` only if its source takes them.
    One audit entry per share (no personal data). Raises ShareError, storing nothing."""
    purpose = " ".join(purpose.split())
    if not consented:
        raise ShareError(_("Please confirm that this person agreed to be contacted."))
    if not purpose:
        raise ShareError(_("Say what they agreed to be contacted about."))
    if len(purpose) > MAX_PURPOSE:
        raise ShareError(_("Please say what they agreed to in fewer words."))
    first, last = _names(card)
    if not (first or last):
        raise ShareError(_("Give the person's name."))
    org = session.get(Organization, operation.organization_id)
    if not any(card.phones.values()):
        raise ShareError(_("This contact has no phone number. Type it in below."))
    numbers = _numbers(card, default_region(org))
    if not numbers:
        raise ShareError(_("That phone number does not look right. Check it, with the "
                           "country code if it is from abroad."))
    fields = _fields(card, first, last)
    fields["custom"].update({"consent_source": SHARED_SOURCE, "consent_purpose": purpose})
    statement = consent_statement(org.name if org else "", purpose)
    contact, created = upsert_contact(
        session, operation.organization_id, fields, numbers, [SHARED_TAG], SHARED_SOURCE,
        consent={"channel": "call", "text": statement, "source": SHARED_SOURCE})
    _ensure_custom_fields(session, operation.organization_id, fields["custom"])
    targeted = _takes(session, operation, contact.id)
    if targeted:
        targeted = materialize_targets(session, operation, contact_ids=[contact.id]) > 0
    record_audit(session, operation.organization_id, volunteer.id, "contact.shared",
                 "contact", contact.id, {"operation_id": operation.id, "via": via,
                                         "new": created, "target_added": targeted})
    session.flush()
    return SharedContact(first, contact.id, created, targeted)


def _ensure_custom_fields(session: Session, org_id: int, keys) -> None:
    """The custom fields a share fills exist, labelled as a vCard import labels them."""
    labels = {"organization": "Organization", **CONSENT_COLUMNS}
    known = set(session.scalars(select(CustomField.key).where(
        CustomField.organization_id == org_id, CustomField.key.in_(list(keys)))))
    for key in keys:
        if key not in known:
            session.add(CustomField(organization_id=org_id, key=key, label=labels.get(key, key)))
