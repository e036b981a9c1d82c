"""Set-up shared by the caller app's web and browser tests: an operation ready to call.

Contacts live in a fixed-offset time zone where it is early afternoon right now, so the
operation's calling window is open whenever the tests run.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Flask

from ringround.enrollment import create_join_link
from ringround.extensions import db
from ringround.models import (
    Operation,
    OperationMember,
    OperationMode,
    OperationRole,
    OperationState,
    Organization,
    User,
)
from ringround.queue import materialize_targets
from tests import factories

HIDDEN_EMAIL = "hidden-secret@example.org"
HIDDEN_CUSTOM = "HIDDEN-DONATION-4242"
QUESTIONNAIRE = {"questions": [
    {"id": "q1", "type": "yes_no", "text": "Will you come to the meeting?",
     "choices": [{"value": "yes", "label": "Yes", "next": "q2"},
                 {"value": "no", "label": "No", "next": "q3"}], "next": None},
    {"id": "q2", "type": "scale", "text": "How sure are you?", "min": 1, "max": 5,
     "next": None},
    {"id": "q3", "type": "text", "text": "What would help you come?", "next": None},
]}
FIELD_SETTINGS = {"fields": [
    {"key": "first_name", "visibility": "visible", "highlight": False},
    {"key": "city", "visibility": "visible", "highlight": True},
    {"key": "language", "visibility": "editable", "highlight": False},
    {"key": "email", "visibility": "hidden", "highlight": False},
]}


def afternoon_zone(now: datetime | None = None) -> str:
    """An `Etc/GMT±N` zone where the local time is between 12:00 and 13:59 now."""
    hour = (now or datetime.now(UTC)).hour
    offset = (13 - hour + 12) % 24 - 12  # local = UTC + offset, offset in -12..11
    # Etc zones have inverted signs: Etc/GMT-3 is UTC+3.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def calling_operation(n: int = 5, mode: OperationMode = OperationMode.SIMPLE,
                      **fields) -> tuple[Operation, User, list]:
    """An active operation with `n` targets and one agent (a phone-only volunteer)."""
    org, admin = factories.org_with_admin()
    zone = fields.pop("zone", afternoon_zone())
    op = factories.operation(
        org, owner=admin, name=fields.pop("name", "Get out the vote"), state=OperationState.ACTIVE,
        mode=mode, window_start=time(9, 0), window_end=time(21, 0),
        script="## Hello\n\nHi, this is **Ringround** calling. <script>alert(1)</script>",
        questionnaire=QUESTIONNAIRE, field_settings=FIELD_SETTINGS, **fields,
    )
    agent = factories.phone_user("Volunteer")
    db.session.add(OperationMember(operation_id=op.id, user_id=agent.id,
                                   role=OperationRole.AGENT))
    contacts = []
    for i in range(n):
        person = factories.contact(
            org, first_name=f"Person{i}", time_zone=zone, city=f"Springfield{i}",
            language="en", email=HIDDEN_EMAIL, custom={"donations": HIDDEN_CUSTOM},
        )
        contacts.append(person)
    materialize_targets(db.session, op, [person.id for person in contacts])
    db.session.commit()
    return op, agent, contacts


def sign_in(client, user: User) -> None:
    """Sign a phone-only volunteer in for a test (as the join flow would), via the session."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def session_cookie(app: Flask, user: User) -> str:
    """The signed session cookie of `user` signed in, for a real browser."""
    client = app.test_client()
    sign_in(client, user)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    return cookie.value


def calling_join_link(n: int = 3) -> tuple[str, int]:
    """A caller join link (its token) to an operation ready to call, and the operation's id."""
    op, _agent, _contacts = calling_operation(n=n)
    org = db.session.get(Organization, op.organization_id)
    _link, token = create_join_link(db.session, org=org, actor=None, operation=op)
    db.session.commit()
    return token, op.id
