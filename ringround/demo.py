"""Demo data, so a new user sees something real at once."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import NamedTuple

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.accounts import create_organization, create_password_user
from ringround.enrollment import create_join_link, join_path, link_token, operation_links
from ringround.i18n import check_language
from ringround.models import (
    Contact,
    ContactPhone,
    Operation,
    OperationMember,
    OperationRole,
    OperationState,
    Organization,
    PhoneLabel,
    User,
    utcnow,
)

DEMO_ORG_NAME = "Demo Campaign"
FIRST_NAMES = ["Maria", "Jonas", "Aïcha", "Lars", "Sofie", "Pierre", "Fatima", "Emma",
               "Noah", "Chloé", "Sven", "Daan", "Inès", "Oskar", "Lotte", "Malik"]
LAST_NAMES = ["García", "Berg", "Diallo", "Janssen", "Dubois", "Lindqvist", "de Vries",
              "Martin", "Öberg", "Bakker", "Nguyen", "Moreau"]
# Fictional numbers from ranges reserved for drama/testing where the country has one.
# Each with the language its people get texts and voice prompts in (None: the organization's).
NUMBER_PATTERNS = [("+1202555{:04d}", "America/New_York", "US", None),
                   ("+44791{:07d}", "Europe/London", "GB", None),
                   ("+33612{:06d}", "Europe/Paris", "FR", "fr"),
                   ("+46701{:06d}", "Europe/Stockholm", "SE", "sv")]


class DemoSummary(NamedTuple):
    """What the demo made, for the command to print (with its URLs)."""

    org_name: str
    org_slug: str
    email: str
    password: str
    operation_id: int
    operation_name: str
    operation_state: str
    join_path: str


def build_demo(session: Session, *, email: str, password: str, n_contacts: int = 40,
               language: str = "en") -> DemoSummary:
    """Create (or top up) the demo organization; a new one speaks `language` (its operation's
    name, description and script are written in it)."""
    language = check_language(language)
    rng = random.Random(42)  # the same demo every time
    org = session.scalar(select(Organization).where(Organization.name == DEMO_ORG_NAME))
    admin = session.scalar(select(User).where(User.email == email))
    if admin is None:
        admin = create_password_user(
            session, email=email, password=password, display_name="Demo Organizer"
        )
    if org is None:
        org = create_organization(session, name=DEMO_ORG_NAME, admin=admin, language=language)
    existing = session.scalar(select(Contact.id).where(Contact.organization_id == org.id))
    if existing is None:
        for i in range(n_contacts):
            pattern, zone, country, speaks = NUMBER_PATTERNS[i % len(NUMBER_PATTERNS)]
            contact = Contact(
                organization_id=org.id, first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES), country=country, time_zone=zone,
                source="demo", language=speaks,
            )
            contact.phones.append(ContactPhone(
                organization_id=org.id, e164=pattern.format(100 + i), label=PhoneLabel.MOBILE,
                is_mobile=True, country=country,
            ))
            session.add(contact)
    operation = session.scalar(select(Operation).where(Operation.organization_id == org.id))
    if operation is None:
        now = utcnow()
        with force_locale(org.language):
            name, description = _("Get out the vote"), _(
                "Remind supporters to vote and offer a ride.")
            script = _("Hi {first_name}, I'm a volunteer with %(org)s. Can we count on your "
                       "vote on Sunday?", org=org.name)
        operation = Operation(
            organization_id=org.id, name=name, state=OperationState.DRAFT,
            description=description, script=script,
            starts_at=now, ends_at=now + timedelta(days=30),
            # Every demo contact: the operation can be activated at once (wizard or CLI).
            source_filter={"fields": [{"field": "source", "op": "equals", "value": "demo"}]},
        )
        operation.members.append(OperationMember(user_id=admin.id, role=OperationRole.OWNER))
        session.add(operation)
    session.flush()
    return DemoSummary(org.name, org.slug, email, password, operation.id, operation.name,
                       operation.state.value, _demo_join_path(session, org, operation))


def _demo_join_path(session: Session, org: Organization, operation: Operation) -> str:
    """The demo operation's caller join link (made once, shown again on later runs)."""
    for link in operation_links(session, operation.id):
        token = link_token(link)
        if token and link.revoked_at is None and link.label == "Demo":
            return join_path(token)
    _link, token = create_join_link(session, org=org, actor=None, operation=operation,
                                    label="Demo")
    return join_path(token)
