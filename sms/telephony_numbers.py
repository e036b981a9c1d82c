"""Which campaign number an organization's calls and texts use, with the provider default."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.campaign_numbers import campaign_number
from ringround.models import Operation, Organization
from sms.provider import get_provider


def default_number(org: Organization, operation: Operation | None = None) -> str | None:
    """The operation's number, else the organization's, else TWILIO_FROM_NUMBER."""
    return campaign_number(org, operation, get_provider().default_from)


def organization_numbers(session: Session, org: Organization) -> set[str]:
    """Every campaign number the organization's calls and texts may come from."""
    numbers = set(session.scalars(select(Operation.campaign_number).where(
        Operation.organization_id == org.id, Operation.campaign_number.is_not(None))))
    numbers.add(org.campaign_number or get_provider().default_from)
    return {n for n in numbers if n}
