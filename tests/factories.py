"""Small factories for tests: organizations with admins, organizers, contacts, operations."""

from __future__ import annotations

import itertools

from ringround.accounts import add_organizer, create_organization, create_password_user
from ringround.extensions import db
from ringround.models import (
    Contact,
    ContactPhone,
    Operation,
    OperationMember,
    OperationRole,
    Organization,
    OrgRole,
    PhoneLabel,
    User,
)

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def org_with_admin(name: str | None = None, email: str | None = None) -> tuple[Organization, User]:
    n = next(_seq)
    user = create_password_user(
        db.session, email=email or f"admin{n}@example.org", password=PASSWORD,
        display_name=f"Admin {n}",
    )
    org = create_organization(db.session, name=name or f"Org {n}", admin=user)
    db.session.commit()
    return org, user


def organizer(org: Organization, actor: User, role: OrgRole = OrgRole.ORGANIZER) -> User:
    n = next(_seq)
    user = add_organizer(
        db.session, org=org, actor=actor, email=f"organizer{n}@example.org", password=PASSWORD,
        display_name=f"Organizer {n}", role=role,
    )
    db.session.commit()
    return user


def phone_user(name: str = "Volunteer", phone: str | None = None) -> User:
    """A volunteer with no password (phone only)."""
    n = next(_seq)
    user = User(display_name=f"{name} {n}", phone_e164=phone or f"+1202555{n:04d}")
    db.session.add(user)
    db.session.commit()
    return user


def contact(org: Organization, first_name: str = "Maria", phone: str | None = None,
            time_zone: str = "America/New_York", **fields) -> Contact:
    n = next(_seq)
    person = Contact(organization_id=org.id, first_name=first_name, time_zone=time_zone, **fields)
    person.phones.append(ContactPhone(
        organization_id=org.id, e164=phone or f"+1617555{n:04d}", label=PhoneLabel.MOBILE,
        is_mobile=True, country="US",
    ))
    db.session.add(person)
    db.session.commit()
    return person


def operation(org: Organization, owner: User | None = None, **fields) -> Operation:
    op = Operation(organization_id=org.id, name=fields.pop("name", "Operation"), **fields)
    if owner is not None:
        op.members.append(OperationMember(user_id=owner.id, role=OperationRole.OWNER))
    db.session.add(op)
    db.session.commit()
    return op


def login(client, user: User, password: str = PASSWORD):
    """Sign `user` in through the real login form."""
    from tests.conftest import post_form

    response = post_form(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response
