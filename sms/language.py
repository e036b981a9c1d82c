"""The language each voice prompt and text is said in: the hearer's (ringround.i18n's rule).

Volunteers hear their own language (else their organization's); contacts hear theirs (else
the organization's). Flows build their steps inside `force_locale(...)` of these answers, and a
`Say` step keeps the locale it was made in.
"""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.i18n import choose_locale
from ringround.models import CallLeg, Contact, Organization, User
from ringround.optouts import contacts_with_number


class Hearer(enum.StrEnum):
    """Who hears a call leg's prompts."""

    AGENT = "agent"
    CONTACT = "contact"


def org_language(session: Session, org_id: int | None) -> str | None:
    org = session.get(Organization, org_id) if org_id else None
    return org.language if org else None


def contact_locale(session: Session, org: Organization, remote: str) -> str:
    """Texts and calls to the person with number `remote`: their language, else the org's."""
    languages = [c.language for c in contacts_with_number(session, org.id, remote)]
    return choose_locale(*languages, org.language)


def leg_locale(session: Session, leg: CallLeg, hearer: Hearer) -> str:
    """The language of what `hearer` is told on `leg`'s webhooks."""
    if hearer is Hearer.CONTACT:
        contact = session.get(Contact, leg.contact_id) if leg.contact_id else None
        own = contact.language if contact else None
    else:
        agent = session.get(User, leg.agent_id) if leg.agent_id else None
        own = agent.language if agent else None
    return choose_locale(own, org_language(session, leg.organization_id))


def volunteer_locale(session: Session, org: Organization | None, remote: str) -> str:
    """A volunteer calling in from `remote`: their language, else the organization's."""
    own = session.scalar(select(User.language).where(User.phone_e164 == remote).limit(1))
    return choose_locale(own, org.language if org else None)
