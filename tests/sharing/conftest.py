"""A small world for sharing tests: an organization with an operation, its owner, an agent,
an organizer, a join link and a sign-up form; and a second organization with its admin."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from ringround.accounts import create_password_user
from ringround.enrollment import create_join_link
from ringround.extensions import db
from ringround.models import (
    JoinLink,
    LinkRole,
    Operation,
    OperationMember,
    OperationRole,
    Organization,
    SignupForm,
    SimText,
    User,
)
from ringround.signup_forms import save_signup_form
from tests import factories
from tests.conftest import csrf_token_from

PASSWORD = factories.PASSWORD


@dataclass
class World:
    org: Organization
    admin: User
    organizer: User
    owner: User
    agent: User
    other_admin: User
    other_org: Organization
    operation: Operation
    link: JoinLink
    token: str
    org_link: JoinLink
    org_token: str
    form: SignupForm
    agent_member_id: int
    candidate: User  # known to the organization, not yet in the operation

    def user(self, role: str) -> User | None:
        return {"anonymous": None, "agent": self.agent, "owner": self.owner,
                "organizer": self.organizer, "other_admin": self.other_admin,
                "admin": self.admin}[role]


def password_user(name: str) -> User:
    n = next(factories._seq)
    user = create_password_user(db.session, email=f"{name.lower()}{n}@example.org",
                                password=PASSWORD, display_name=f"{name} {n}")
    db.session.commit()
    return user


def build_world() -> World:
    org, admin = factories.org_with_admin("Tenants Union")
    organizer = factories.organizer(org, admin)
    other_org, other_admin = factories.org_with_admin("Other Campaign")
    owner = password_user("Owner")
    agent = password_user("Agent")
    candidate = password_user("Candidate")
    operation = factories.operation(org, owner, name="Rent strike calls")
    agent_member = OperationMember(operation_id=operation.id, user_id=agent.id,
                                   role=OperationRole.AGENT)
    other_op = factories.operation(org, None, name="Earlier calls")
    db.session.add_all([agent_member, OperationMember(
        operation_id=other_op.id, user_id=candidate.id, role=OperationRole.AGENT)])
    link, token = create_join_link(db.session, org=org, actor=owner, operation=operation)
    org_link, org_token = create_join_link(db.session, org=org, actor=admin,
                                           role=LinkRole.ORGANIZER, label="Org link A")
    form = save_signup_form(
        db.session, org=org, actor=admin, title="Welcome table", fields={
            "first_name": "required", "last_name": "optional", "phone": "required",
            "email": "optional"},
        consent_text="You may call me about the campaign.", privacy_url="/privacy",
        tags=["event", "volunteer"], thank_you="See you soon!", operation_id=operation.id)
    db.session.commit()
    return World(org, admin, organizer, owner, agent, other_admin, other_org, operation, link,
                 token, org_link, org_token, form, agent_member.id, candidate)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """scrypt is slow on purpose; these tests sign many people in and test no passwords."""
    monkeypatch.setattr("ringround.accounts.PASSWORD_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def world(app) -> World:
    return build_world()


def sign_in(client, user: User | None) -> None:
    if user is not None:
        factories.login(client, user)


def form_post(client, url: str, data: dict, **kwargs):
    """POST with a CSRF token from a page anyone may open (the token is per session)."""
    html = client.get("/signin/phone").get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token_from(html)}, **kwargs)


# Phone codes are texted only where texts can be sent: these settings use the simulator in
# development mode (local address), whose texts land on simulated phones in the database.
SMS_CODES = {"DEV_SHOW_CODES": True, "PUBLIC_BASE_URL": "http://localhost"}
CODE_RE = re.compile(r"\b(\d{6})\b")


def texted_code(phone: str) -> str:
    """The code in the newest text to `phone`, read off its (simulated) phone."""
    body = db.session.scalar(select(SimText.body).where(
        SimText.to_number == phone, SimText.direction == "outbound-api")
        .order_by(SimText.id.desc()).limit(1))
    assert body, f"no text reached {phone}"
    match = CODE_RE.search(body)
    assert match, f"no code in {body!r}"
    return match.group(1)
