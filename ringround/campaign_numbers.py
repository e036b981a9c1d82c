"""Campaign numbers: which number an organization or operation calls and texts from, and
which organization a number belongs to (for inbound texts, calls and STOP)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ringround.models import ContactPhone, Operation, Organization


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
