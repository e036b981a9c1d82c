"""Consent to texts: the words that answer a sign-up's "reply YES", and the consent records."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ringround.models import Consent, Contact

# Words that answer a sign-up's "reply YES" (and, alone, opt back in).
START_WORDS = frozenset({"START", "YES", "UNSTOP"})


def has_sms_consent(contact: Contact) -> bool:
    """True when the contact's latest SMS consent record grants texting."""
    sms = [c for c in contact.consents if c.channel == "sms"]
    if not sms:
        return False
    return max(sms, key=lambda c: (c.recorded_at, c.id or 0)).granted


def record_sms_consent(session: Session, contact: Contact, text: str, source: str) -> Consent:
    """Record that the contact agreed to texts (the exact words they were shown)."""
    consent = Consent(contact=contact, channel="sms", granted=True, text=text, source=source)
    session.add(consent)
    return consent
