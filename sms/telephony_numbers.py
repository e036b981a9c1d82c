"""Which campaign number an organization's calls and texts use, with the provider default."""

from __future__ import annotations

from ringround.models import Operation, Organization
from ringround.telephony_rules import campaign_number
from sms.provider import get_provider


def default_number(org: Organization, operation: Operation | None = None) -> str | None:
    """The operation's number, else the organization's, else TWILIO_FROM_NUMBER."""
    return campaign_number(org, operation, get_provider().default_from)
