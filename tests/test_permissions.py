"""The permission table: every route of the app, by every method, as each kind of visitor.

The routes come from `app.url_map`, so a new route that is not in TABLE fails with its name.
Each request goes to real rows of the first organization (one world per module, restored
after every request), and POSTs carry a valid CSRF token of the visitor's own session, so
the answer shows the role check, not CSRF.

docs/permissions.md is this table: `python -m tests.test_permissions > docs/permissions.md`
rewrites it, and `test_docs_show_the_table` fails when it is out of date.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask import session as request_session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, select

from ringround import operations as ops
from ringround.accounts import create_password_user
from ringround.enrollment import create_join_link, operation_role
from ringround.extensions import db
from ringround.models import (
    Attempt,
    CallLeg,
    FailedJob,
    FollowUpTemplate,
    LegKind,
    LinkRole,
    OperationMember,
    OperationRole,
    OperationState,
    Target,
    User,
)
from ringround.models.messaging import Direction, Message
from ringround.models.simulator import SimCall, SimText
from ringround.people import jobs
from ringround.people.import_report import ImportReport
from ringround.people.normalize import NO_PHONE
from ringround.queue import materialize_targets
from ringround.signup_forms import save_signup_form
from tests import factories
from tests.caller_fixtures import FIELD_SETTINGS, QUESTIONNAIRE, afternoon_zone
from tests.conftest import make_app

PRINCIPALS = ("anonymous", "agent", "other_agent", "removed_agent", "owner", "organizer",
              "admin", "other_admin")

# --- the vocabulary ----------------------------------------------------------------------
# ok:        let through the role check: 2xx/3xx (not to sign-in), or the form's own refusal
#            (400, 409, 410, 422) that is not a CSRF error
# public:    ok, for everyone (a row where the role does not matter)
# login:     sent to sign in (302 to /login; 401 JSON on /api/)
# 403, 404:  refused with that status (404: outsiders must not learn that the object exists)
# own:       served, about the visitor's own organization only (no name of the first one)
# refused:   answered, but the visitor is not a member of the operation afterwards
# signature: a webhook: unsigned requests get 403 (signed ones are tested in tests/telephony)
OK, PUBLIC, LOGIN, OWN, REFUSED, SIGNATURE = "ok", "public", "login", "own", "refused", "signature"


def row(anonymous, agent, other_agent, removed_agent, owner, organizer, admin, other_admin):
    """One route's expected answers, in the order of PRINCIPALS."""
    return dict(zip(PRINCIPALS, (anonymous, agent, other_agent, removed_agent, owner, organizer,
                                 admin, other_admin), strict=True))


def everyone(expected) -> dict:
    return dict.fromkeys(PRINCIPALS, expected)


ORG_LIST = row(LOGIN, 403, 403, 403, 403, OK, OK, OWN)  # a page of the visitor's organization
ORG_OBJECT = row(LOGIN, 403, 403, 403, 403, OK, OK, 404)  # one object of the first organization
ADMIN_ONLY = row(LOGIN, 403, 403, 403, 403, 403, OK, OWN)
MANAGED = row(LOGIN, 403, 404, 404, OK, OK, OK, 404)  # an operation's owners and organizers
CALLER = row(LOGIN, OK, 403, 403, OK, 403, 403, 403)  # the operation's members
MEMBER = row(LOGIN, OK, 404, 404, OK, 404, 404, 404)  # members; others do not learn it exists
OWN_ATTEMPT = row(LOGIN, OK, 404, 404, 404, 404, 404, 404)  # the agent who made the call
SIGNED_IN = row(LOGIN, OK, OK, OK, OK, OK, OK, OK)
ORG_LINK = row(LOGIN, 404, 404, 404, 404, OK, OK, 404)  # an organization's join link
ORGANIZERS_ONLY = row(LOGIN, 403, 404, 404, 403, OK, OK, 404)  # not owners (issue 14, item 5)
INSTANCE_ADMIN = row(LOGIN, 403, 403, 403, 403, 403, OK, 403)  # who runs the server

TABLE: dict[str, dict[str, Any]] = {
    # pages anyone opens
    "GET /": row(LOGIN, OK, OK, OK, OK, OK, OK, OK),  # home, or sign in
    "GET /healthz": everyone(PUBLIC),
    "GET /static/<path:filename>": everyone(PUBLIC),
    "GET /static/sharing/<path:filename>": everyone(PUBLIC),
    "GET /telephony/static/<path:filename>": everyone(PUBLIC),
    "GET /vendor/<name>": everyone(PUBLIC),
    "GET /sw.js": everyone(PUBLIC),
    "GET /login": everyone(PUBLIC),
    "POST /login": everyone(PUBLIC),
    "POST /logout": everyone(LOGIN),  # signed out, to the sign-in page
    "GET /setup": everyone(LOGIN),  # closed once the instance is set up
    "POST /setup": everyone(LOGIN),
    "GET /signin/phone": everyone(PUBLIC),
    "POST /signin/phone": everyone(PUBLIC),
    "GET /signin/phone/code": everyone(PUBLIC),
    "POST /signin/phone/code": everyone(PUBLIC),
    "GET /j/<token>": everyone(PUBLIC),
    "POST /j/<token>": row(PUBLIC, OK, OK, REFUSED, OK, OK, OK, OK),  # item 8: removal holds
    "GET /j/verify": everyone(PUBLIC),
    "POST /j/verify": everyone(PUBLIC),
    "POST /j/resend": everyone(PUBLIC),
    # a personal sign-in link (here opened with a token that is not one: 410 for everyone)
    "GET /in/<token>": everyone(PUBLIC),
    "POST /in/<token>": everyone(PUBLIC),
    "GET /account/password": row(LOGIN, OK, OK, OK, OK, OK, OK, OK),
    "POST /account/password": row(LOGIN, OK, OK, OK, OK, OK, OK, OK),
    "POST /account/language": row(LOGIN, OK, OK, OK, OK, OK, OK, OK),  # the person's own
    "GET /s/<slug>": everyone(PUBLIC),
    "POST /s/<slug>": everyone(PUBLIC),
    "GET /s/<slug>/thanks": everyone(PUBLIC),
    # the caller app
    "GET /call/": SIGNED_IN,
    "GET /call/<int:operation_id>": CALLER,
    "GET /call/<int:operation_id>/shell": CALLER,
    "GET /call/<int:operation_id>/card": CALLER,
    "GET /call/<int:operation_id>/progress": CALLER,
    "POST /call/<int:operation_id>/result": CALLER,
    "POST /call/<int:operation_id>/skip": CALLER,
    "GET /call/<int:operation_id>/last": CALLER,
    "POST /call/<int:operation_id>/last": CALLER,
    "POST /call/<int:operation_id>/bridge/<int:target_id>": CALLER,
    "GET /call/<int:operation_id>/bridge/<int:target_id>/status": CALLER,
    # "Add someone who wants to get involved" (issue 20): the operation's members
    "GET /call/share": SIGNED_IN,  # the share sheet's landing: to the visitor's own operation
    "GET /call/<int:operation_id>/share": CALLER,
    "POST /call/<int:operation_id>/share": CALLER,
    "GET /api/call/<int:operation_id>/token": CALLER,
    "POST /api/call/<int:operation_id>/next": CALLER,
    "POST /api/call/<int:operation_id>/batch": CALLER,
    "POST /api/call/<int:operation_id>/sync": CALLER,
    "POST /api/call/<int:operation_id>/return": CALLER,
    "GET /api/call/<int:operation_id>/progress": CALLER,
    "GET /my/operations": SIGNED_IN,
    "GET /telephony/operations/<int:operation_id>/call-in": MEMBER,
    "POST /telephony/operations/<int:operation_id>/call-in": MEMBER,
    "GET /telephony/attempts/<int:attempt_id>/followups": OWN_ATTEMPT,
    "POST /telephony/attempts/<int:attempt_id>/followups/<int:template_id>": OWN_ATTEMPT,
    # a call the removed agent made before the removal: nothing of the operation is theirs now
    "GET /telephony/attempts/<int:attempt_id>/followups attempt_id=@removed_attempt":
        row(LOGIN, 404, 404, 404, 404, 404, 404, 404),
    "POST /telephony/attempts/<int:attempt_id>/followups/<int:template_id>"
    " attempt_id=@removed_attempt": row(LOGIN, 404, 404, 404, 404, 404, 404, 404),
    # the console: organizations
    "GET /console/": ORG_LIST,
    "GET /console/organizations": SIGNED_IN,
    # creating organizations is for instance administrators (issue 14, item 6)
    "POST /console/organizations": row(LOGIN, 403, 403, 403, 403, 403, OK, 403),
    "POST /console/organizations/switch": row(LOGIN, 403, 403, 403, 403, OK, OK, 403),
    # settings: organizers read them, admins change them
    "GET /console/settings": ORG_LIST,
    "POST /console/settings": ADMIN_ONLY,
    "GET /console/members": ADMIN_ONLY,
    # the audit log: admins only, like the members it names (ringround/audit_log.py)
    "GET /console/audit/": ADMIN_ONLY,
    "GET /console/audit/audit-log.csv": ADMIN_ONLY,
    # the dead-letter page: failed jobs of the whole instance (issue 15)
    "GET /console/jobs/": INSTANCE_ADMIN,
    "POST /console/jobs/<int:failed_id>/run-again": INSTANCE_ADMIN,
    "POST /console/members": ADMIN_ONLY,
    # contacts, lists and imports: organizers only, never owners or agents
    "GET /console/contacts/": ORG_LIST,
    "GET /console/contacts/count": ORG_LIST,
    "POST /console/contacts/lists": ORG_LIST,
    "POST /console/contacts/tags": ORG_LIST,
    "POST /console/contacts/export": ORG_LIST,
    "GET /console/contacts/<int:contact_id>": ORG_OBJECT,
    "POST /console/contacts/<int:contact_id>/data.json": ORG_OBJECT,
    "POST /console/contacts/<int:contact_id>/do-not-contact": ORG_OBJECT,
    "GET /console/contacts/<int:contact_id>/edit": ORG_OBJECT,
    "POST /console/contacts/<int:contact_id>/edit": ORG_OBJECT,
    "POST /console/contacts/<int:contact_id>/erase": ORG_OBJECT,
    "POST /console/contacts/phones/<int:phone_id>/<action>": ORG_OBJECT,
    "GET /console/contacts/import": ORG_LIST,
    "POST /console/contacts/import": ORG_LIST,
    "GET /console/contacts/import/<int:job_id>": ORG_OBJECT,
    "POST /console/contacts/import/<int:job_id>": ORG_OBJECT,
    "GET /console/contacts/import/<int:job_id>/progress": ORG_OBJECT,
    "GET /console/contacts/import/<int:job_id>/report.csv": ORG_OBJECT,
    "POST /console/contacts/import/<int:job_id>/delete": ORG_OBJECT,
    # operations
    "GET /console/operations/": row(LOGIN, 403, 403, 403, OK, OK, OK, OWN),
    "POST /console/operations/new": ORG_LIST,
    "GET /console/operations/<int:op_id>": MANAGED,
    "GET /console/operations/<int:op_id>/figures": MANAGED,
    "GET /console/operations/<int:op_id>/results.csv": MANAGED,
    # counting any filter of the organization is part of choosing the source (item 5)
    "GET /console/operations/<int:op_id>/source/count": ORGANIZERS_ONLY,
    "GET /console/operations/<int:op_id>/steps/<step>": MANAGED,
    "POST /console/operations/<int:op_id>/steps/<step>": MANAGED,
    # source and field visibility are organizer decisions (issue 14, item 5)
    "POST /console/operations/<int:op_id>/steps/<step> step=source": ORGANIZERS_ONLY,
    "POST /console/operations/<int:op_id>/steps/<step> step=fields": ORGANIZERS_ONLY,
    "POST /console/operations/<int:op_id>/questionnaire/template": MANAGED,
    "POST /console/operations/<int:op_id>/questions/<question_id>": MANAGED,
    "POST /console/operations/<int:op_id>/questions/<question_id>/<action>": MANAGED,
    "POST /console/operations/<int:op_id>/members": MANAGED,
    "POST /console/operations/<int:op_id>/members/<int:member_id>": MANAGED,
    "POST /console/operations/<int:op_id>/"
    "<any(activate, pause, resume, end, duplicate):action>": MANAGED,
    # deleting a draft is for organizers (the draft's owner is its only member)
    "GET /console/operations/<int:op_id>/delete": ORGANIZERS_ONLY | {"agent": 404},
    "POST /console/operations/<int:op_id>/delete": ORGANIZERS_ONLY | {"agent": 404},
    # sharing: join links, people, sign-up forms
    "GET /operations/<int:operation_id>/people": MANAGED,
    "POST /operations/<int:operation_id>/people": MANAGED,
    "GET /operations/<int:operation_id>/people/search": MANAGED,
    "POST /operations/<int:operation_id>/links": MANAGED,
    "POST /operations/<int:operation_id>/people/<int:member_id>/role": MANAGED,
    "POST /operations/<int:operation_id>/people/<int:member_id>/remove": MANAGED,
    "POST /operations/<int:operation_id>/people/<int:member_id>/signin-link": MANAGED,
    "POST /operations/<int:operation_id>/people/<int:member_id>/call-in-code": MANAGED,
    "GET /links/<int:link_id>": MANAGED,
    "GET /links/<int:link_id>/qr.<fmt>": MANAGED,
    "GET /links/<int:link_id>/screen": MANAGED,
    "GET /links/<int:link_id>/poster": MANAGED,
    "POST /links/<int:link_id>/revoke": MANAGED,
    # an organization's link (role organizer): its organizers only
    "GET /links/<int:link_id> link_id=@org_link": ORG_LINK,
    "POST /links/<int:link_id>/revoke link_id=@org_link": ORG_LINK,
    "GET /console/join-links": ORG_LIST,
    "POST /console/join-links": ORG_LIST,
    "GET /share/sign-in.<fmt>": ORG_LIST,
    "GET /console/signup-forms": ORG_LIST,
    "GET /console/signup-forms/new": ORG_LIST,
    "POST /console/signup-forms/new": ORG_LIST,
    "GET /console/signup-forms/<int:form_id>": ORG_OBJECT,
    "POST /console/signup-forms/<int:form_id>": ORG_OBJECT,
    "GET /console/signup-forms/<int:form_id>/qr.<fmt>": ORG_OBJECT,
    "GET /console/signup-forms/<int:form_id>/screen": ORG_OBJECT,
    "GET /console/signup-forms/<int:form_id>/poster": ORG_OBJECT,
    # telephony settings and the simulator
    "GET /telephony/": ORG_LIST,
    "POST /telephony/": ORG_LIST,
    "POST /telephony/followups": ORG_LIST,
    "POST /telephony/followups/<int:template_id>/archive": ORG_OBJECT,
    "POST /telephony/missed/<int:leg_id>/handled": ORG_OBJECT,
    "POST /telephony/texts/<int:message_id>/read": ORG_OBJECT,
    "GET /telephony/segments": ORG_LIST,
    "GET /telephony/simulator/": ORG_LIST,
    "POST /telephony/simulator/texts": ORG_LIST,
    "POST /telephony/simulator/dial": ORG_LIST,
    "POST /telephony/simulator/calls/<sid>/<action>": ORG_OBJECT,
    "POST /telephony/simulator/calls/<sid>/keys": ORG_OBJECT,
    "POST /telephony/simulator/texts/<sid>/<outcome>": ORG_OBJECT,
    # webhooks: the provider is a principal of its own
    **{f"POST /telephony/hooks/{hook}": everyone(SIGNATURE) for hook in (
        "sms", "sms/status", "voice", "voice/status", "voice/status/<token>",
        "voice/amd/<token>", "voice/bridge/<token>/answer", "voice/bridge/<token>/confirm",
        "voice/bridge/<token>/done", "voice/bridge/<token>/screen",
        "voice/caller/choice", "voice/call-in/code", "voice/call-in/<token>/answer",
        "voice/call-in/<token>/code",
        "voice/call-in/<token>/continue", "voice/call-in/<token>/dialed",
        "voice/call-in/<token>/next", "voice/call-in/<token>/result",
        "voice/callback/<token>/accept", "voice/callback/<token>/done",
        "voice/callback/<token>/whisper")},
}

# Rows where today's main differs only because another part of issue 14 has not landed yet.
# They must fail today (strict xfail); empty this set as those fixes are merged.
PENDING: set[tuple[str, str]] = set()

# What a POST sends besides its CSRF token, where an empty form would not reach the point.
SIGNUP_FORM = {
    "title": "Door knock sign-ups", "consent_text": "Call me.", "field_first_name": "required",
    "field_phone": "required", "field_last_name": "off", "field_email": "off",
    "field_postcode": "off", "field_city": "off", "field_language": "off", "language": "en",
    "operation_id": "0", "active": "y",
}
FORM_DATA: dict[str, dict[str, str]] = {
    "POST /console/organizations/switch": {"org_id": "{org}"},
    "POST /account/language": {"language": "fr", "next": "/call/"},
    "POST /console/operations/<int:op_id>/members": {"user_id": "{candidate}", "role": "agent"},
    "POST /console/operations/<int:op_id>/members/<int:member_id>": {"role": "agent"},
    "POST /operations/<int:operation_id>/people": {"user_id": "{candidate}", "role": "agent"},
    "POST /operations/<int:operation_id>/people/<int:member_id>/role": {"role": "owner"},
    "POST /operations/<int:operation_id>/links": {"role": "agent", "expires": ""},
    "POST /console/join-links": {"expires": "7d", "max_uses": "3"},
    "POST /console/contacts/<int:contact_id>/edit": {"first_name": "Person0"},
    "POST /console/signup-forms/new": SIGNUP_FORM,
    "POST /console/signup-forms/<int:form_id>": SIGNUP_FORM,
    "POST /call/<int:operation_id>/bridge/<int:target_id>": {"client_id": "card-1"},
    "POST /j/<token>": {"name": "Sam", "phone": "+12025550198", "one_tap": "1"},
    "POST /s/<slug>": {"first_name": "Ana", "phone": "+12025550111", "consent": "y"},
}

# Names of the first organization's things: another organization's admin never sees them.
PRIVATE_MARKERS = ("Tenants Union", "Rent strike calls", "Welcome table", "Org link A",
                   "Person0")


# --- the world ---------------------------------------------------------------------------

@dataclass
class World:
    app: Flask
    users: dict[str, User | None]
    ids: dict[str, Any]
    operation_id: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)


def _password_user(name: str) -> User:
    n = next(factories._seq)
    user = create_password_user(db.session, email=f"{name.lower()}{n}@example.org",
                                password=factories.PASSWORD, display_name=f"{name} {n}")
    db.session.commit()
    return user


def _build(app: Flask) -> World:
    """The first organization with one of everything, its people, and a second organization."""
    org, admin = factories.org_with_admin("Tenants Union")
    admin.is_instance_admin = True  # as the first user at setup is
    organizer = factories.organizer(org, admin)
    _other_org, other_admin = factories.org_with_admin("Other Campaign")
    owner = _password_user("Owner")
    agent, other_agent, removed = (factories.phone_user(name) for name in (
        "Agent", "Other agent", "Removed agent"))
    zone = afternoon_zone()
    op = factories.operation(
        org, owner=owner, name="Rent strike calls", state=OperationState.ACTIVE,
        window_start=time(9, 0), window_end=time(21, 0), script="Hello",
        questionnaire=QUESTIONNAIRE, field_settings=FIELD_SETTINGS)
    agent_member = OperationMember(user_id=agent.id, role=OperationRole.AGENT)
    removed_member = OperationMember(user_id=removed.id, role=OperationRole.AGENT)
    op.members.extend([agent_member, removed_member])
    other_op = factories.operation(org, None, name="Earlier calls")
    other_op.members.append(OperationMember(user_id=other_agent.id, role=OperationRole.AGENT))
    draft = factories.operation(org, owner, name="Draft calls", state=OperationState.DRAFT)
    contacts = [factories.contact(org, first_name=f"Person{i}", time_zone=zone)
                for i in range(3)]
    materialize_targets(db.session, op, [c.id for c in contacts])
    db.session.commit()
    target = db.session.scalars(select(Target).where(Target.operation_id == op.id)).first()
    attempt, removed_attempt = (
        Attempt(client_id=str(uuid.uuid4()), operation_id=op.id, target_id=target.id,
                contact_id=contacts[0].id, agent_id=caller.id, disposition="not_home")
        for caller in (agent, removed))
    db.session.add(removed_attempt)
    db.session.flush()
    ops.remove_member(db.session, op, admin, removed_member.id)
    link, token = create_join_link(db.session, org=org, actor=owner, operation=op)
    org_link, _org_token = create_join_link(db.session, org=org, actor=admin,
                                            role=LinkRole.ORGANIZER, label="Org link A")
    form = save_signup_form(
        db.session, org=org, actor=admin, title="Welcome table",
        fields={"first_name": "required", "phone": "required"},
        consent_text="You may call me.", privacy_url="/privacy", tags=["event"],
        thank_you="Thanks!", operation_id=op.id)
    template = FollowUpTemplate(organization_id=org.id, name="Thanks", body="Thank you!")
    db.session.add_all([attempt, template])
    db.session.flush()
    leg = CallLeg(token=uuid.uuid4().hex, kind=LegKind.CALLBACK, organization_id=org.id,
                  operation_id=op.id, attempt_id=attempt.id, agent_id=agent.id,
                  contact_id=contacts[0].id, sid="CA" + uuid.uuid4().hex, status="no-answer")
    number = contacts[0].phones[0].e164
    text_sid = "SM" + uuid.uuid4().hex
    db.session.add_all([
        leg,
        SimCall(sid=leg.sid, direction="inbound", to_number="+15005550006",
                from_number=number),
        Message(organization_id=org.id, contact_id=contacts[0].id,
                direction=Direction.OUTBOUND, remote_e164=number, body="Hi", sid=text_sid),
        SimText(sid=text_sid, direction="outbound-api", to_number=number,
                from_number="+15005550006", body="Hi"),
    ])
    unclear = Message(organization_id=org.id, contact_id=contacts[0].id,
                      direction=Direction.INBOUND, remote_e164=number, status="to_read",
                      body="don't stop")
    db.session.add(unclear)
    stored = jobs.new_upload_name("people.csv")
    (jobs.imports_dir() / stored).write_text("name,phone\nAna,+16175550100\n")
    job = jobs.receive_upload(db.session, org.id, admin.id, "people.csv", stored)
    db.session.commit()
    jobs.inspect_job(db.session, job.id)  # what the background step does: on to the preview
    db.session.commit()
    report = ImportReport(jobs.report_path(job))
    report.add(2, "rejected", NO_PHONE)
    report.flush()
    report.close()
    failed = FailedJob(task_name="ringround.people.jobs.imports.inspect", task_id="t1",
                       args=[job.id], kwargs={}, error="TableError: the file vanished")
    db.session.add(failed)
    db.session.commit()
    ids = {
        "org": org.id, "operation": op.id, "draft": draft.id, "target": target.id,
        "contact": contacts[0].id, "phone": contacts[0].phones[0].id, "job": job.id,
        "member": agent_member.id, "candidate": other_agent.id, "link": link.id,
        "org_link": org_link.id, "token": token, "form": form.id, "slug": form.slug,
        "attempt": attempt.id, "removed_attempt": removed_attempt.id, "template": template.id,
        "leg": leg.id, "leg_token": leg.token, "sim_call": leg.sid, "sim_text": text_sid,
        "message": unclear.id,
        "failed": failed.id,
    }
    users = {"anonymous": None, "agent": agent, "other_agent": other_agent,
             "removed_agent": removed, "owner": owner, "organizer": organizer, "admin": admin,
             "other_admin": other_admin}
    return World(app, users, ids, op.id)


def _sign_in(app: Flask, user: User | None) -> tuple[str, str]:
    """A session cookie for `user` (none for anonymous) and a CSRF token of that session."""
    client = app.test_client()
    with client.session_transaction() as session:
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    # A fresh app context: generate_csrf() keeps its token in `g` for the context's life.
    with app.app_context(), app.test_request_context(), \
            client.session_transaction() as session:
        request_session.update(session)
        token = generate_csrf()
        session.update(request_session)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    return cookie.value, token


class Snapshot:
    """The database and the import files as built, put back after a request changed them."""

    def __init__(self, app: Flask):
        self.copy = sqlite3.connect(":memory:")
        self.folder = Path(app.instance_path) / "imports"
        db.session.commit()
        with db.engine.connect() as connection:
            connection.connection.driver_connection.backup(self.copy)
        self.files = {p.name: p.read_bytes() for p in self.folder.iterdir()}
        # `data_version` changes when another connection commits: most GETs write nothing.
        self.watch = sqlite3.connect(db.engine.url.database)
        self.version = self._version()

    def _version(self) -> int:
        return self.watch.execute("PRAGMA data_version").fetchone()[0]

    def restore(self) -> None:
        db.session.rollback()
        if self._version() != self.version:
            with db.engine.connect() as connection:
                self.copy.backup(connection.connection.driver_connection)
            self.version = self._version()
        if {p.name for p in self.folder.iterdir()} != set(self.files):
            for path in self.folder.iterdir():
                if path.name not in self.files:
                    path.unlink()
            for name, data in self.files.items():
                (self.folder / name).write_bytes(data)


def _no_fsync(dbapi_connection, _record) -> None:
    """A throwaway database: skip the disk syncs of a thousand small commits and restores."""
    dbapi_connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("permissions")
    app = make_app(f"sqlite:///{folder / 'test.sqlite'}", folder / "instance",
                   RATELIMIT_ENABLED=False)
    with app.app_context():
        event.listen(db.engine, "connect", _no_fsync)
        db.engine.dispose()
        built = _build(app)
        for principal, user in built.users.items():
            built.cookies[principal], built.csrf[principal] = _sign_in(app, user)
        built.snapshot = Snapshot(app)
        yield built
        db.session.remove()
        db.engine.dispose()


# --- the routes --------------------------------------------------------------------------

def _route_keys(app: Flask) -> list[str]:
    keys = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            keys.append(f"{method} {rule.rule}")
    return sorted(keys)


def _url(rule: str, overrides: dict[str, str], ids: dict[str, Any]) -> str:
    """The rule with real ids of the first organization's objects in it."""
    values = {
        "operation_id": ids["operation"], "op_id": ids["operation"], "target_id": ids["target"],
        "contact_id": ids["contact"], "phone_id": ids["phone"], "action": "opt-out",
        "job_id": ids["job"], "member_id": ids["member"], "link_id": ids["link"], "fmt": "svg",
        "form_id": ids["form"], "slug": ids["slug"], "token": ids["token"],
        "attempt_id": ids["attempt"], "template_id": ids["template"], "leg_id": ids["leg"],
        "message_id": ids["message"], "failed_id": ids["failed"],
        "question_id": "q1", "step": "basics", "name": "htmx.min.js",
        "filename": "css/app.css", "outcome": "delivered",
    }
    if "/questions/" in rule:
        values["action"] = "up"
    if rule.startswith("/console/operations/<int:op_id>/<any"):
        values["action"] = "pause"
    if rule.endswith("/delete") and "operations" in rule:
        values["op_id"] = ids["draft"]
    if rule.startswith("/telephony/hooks/"):
        values["token"] = ids["leg_token"]
    if rule.startswith("/telephony/simulator/calls/"):
        values.update(sid=ids["sim_call"], action="hangup")
    if rule.startswith("/telephony/simulator/texts/"):
        values["sid"] = ids["sim_text"]
    if rule.startswith("/static/sharing/"):
        values["filename"] = "sharing.css"
    if rule.startswith("/telephony/static/"):
        values["filename"] = "css/telephony.css"
    values.update({name: ids[value[1:]] if value.startswith("@") else value
                   for name, value in overrides.items()})
    path = rule
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        name = path[start + 1:end].split(":")[-1]
        if name.startswith("any("):
            name = "action"
        path = path[:start] + str(values[name]) + path[end + 1:]
    return path


def _split(key: str) -> tuple[str, str, dict[str, str]]:
    """'POST /rule step=source' -> ('POST', '/rule', {'step': 'source'})."""
    method, rest = key.split(" ", 1)
    parts = rest.split(" ")
    rule_parts = [p for p in parts if "=" not in p]  # `<any(a, b):x>` has spaces of its own
    overrides = dict(p.split("=", 1) for p in parts if "=" in p)
    return method, " ".join(rule_parts), overrides


def _request(world: World, key: str, principal: str):
    method, rule, overrides = _split(key)
    url = _url(rule, overrides, world.ids)
    client = world.app.test_client()
    client.set_cookie(world.app.config.get("SESSION_COOKIE_NAME", "session"),
                      world.cookies[principal])
    headers = {}
    if rule.startswith("/api/"):
        headers["X-CSRFToken"] = world.csrf[principal]
    if method == "GET":
        return client.get(url, headers=headers)
    data = {name: value.format(**world.ids) for name, value in FORM_DATA.get(key, {}).items()}
    return client.post(url, data={**data, "csrf_token": world.csrf[principal]},
                       headers=headers)


def _is_member(world: World, principal: str) -> bool:
    user = world.users[principal]
    return user is not None and operation_role(db.session, user, world.operation_id) is not None


def _check(response, expected, refused_member: bool) -> str | None:
    """What is wrong with `response` for `expected`, or None."""
    status = response.status_code
    body = response.get_data(as_text=True) if response.mimetype in (
        "text/html", "application/json") else ""
    to_login = status == 302 and "/login" in (response.location or "")
    if "The form expired or was sent from elsewhere" in body:
        return "CSRF refused the request"
    if status >= 500:
        return f"server error {status}"
    if expected == LOGIN:
        return None if to_login or status == 401 else f"{status}, not sent to sign in"
    if expected == SIGNATURE:
        return None if status == 403 else f"{status} for an unsigned webhook"
    if isinstance(expected, int):
        return None if status == expected else f"{status}, expected {expected}"
    if expected == REFUSED:
        return "became a member again" if refused_member else None
    # ok, public, own
    if to_login:
        return "sent to sign in"
    if status not in (200, 201, 204, 301, 302, 303, 400, 409, 410, 422):
        return f"{status}"
    if expected == OWN:
        leaked = [marker for marker in PRIVATE_MARKERS if marker in body]
        return f"shows {leaked}" if leaked else None
    return None


def _cases() -> list:
    params = []
    for key in TABLE:
        for principal in PRINCIPALS:
            marks = [pytest.mark.xfail(strict=True, reason="pending issue 14 fix")] if (
                key, principal) in PENDING else []
            params.append(pytest.param(key, principal, marks=marks, id=f"{key} | {principal}"))
    return params


@pytest.mark.parametrize(("key", "principal"), _cases())
def test_route_answers_each_principal_as_the_table_says(world, key, principal):
    expected = TABLE[key][principal]
    was_member = _is_member(world, principal)
    try:
        response = _request(world, key, principal)
        member_after = _is_member(world, principal) and not was_member
        problem = _check(response, expected, member_after)
    finally:
        world.snapshot.restore()
    assert problem is None, f"{key} as {principal}: {problem} (table says {expected})"


def test_every_route_is_in_the_table(world):
    """A new route must get a row (a decision for each principal) before it can ship."""
    rows = {" ".join(_split(key)[:2]) for key in TABLE}
    routes = set(_route_keys(world.app))
    missing = sorted(routes - rows)
    stale = sorted(rows - routes)
    assert not missing, f"routes missing from the permission table: {missing}"
    assert not stale, f"rows of the permission table for routes that are gone: {stale}"
    assert {key for key, _principal in PENDING} <= set(TABLE), "PENDING names unknown rows"


def markdown() -> str:
    """docs/permissions.md: the table, one row per route and method."""
    labels = {OK: "ok", PUBLIC: "✓", LOGIN: "login", OWN: "own", REFUSED: "refused",
              SIGNATURE: "signature", 403: "403", 404: "404"}
    head = ["route", *PRINCIPALS]
    lines = [
        "# Who may open what",
        "",
        "Generated from `tests/test_permissions.py` (`python -m tests.test_permissions >"
        " docs/permissions.md`);",
        "the test requests every route of the app as each principal and fails when the",
        "answer, or this page, differs from the table.",
        "",
        "- **✓** public: anyone; **ok**: allowed (the page, or the form's own message);",
        "- **login**: sent to sign in; **403** / **404**: refused (404 where outsiders must not"
        " learn that the object exists);",
        "- **own**: allowed, but shows the visitor's own organization only;",
        "- **refused**: answered, but the removed agent does not get back in;",
        "- **signature**: a provider webhook: refused (403) unless it carries the provider's"
        " signature, whoever sends it.",
        "",
        f"{len(TABLE)} rows × {len(PRINCIPALS)} principals. Principals: `agent` calls for the"
        " operation; `other_agent` calls for another operation of the same organization;"
        " `removed_agent` was taken out of the operation; `owner` owns the operation"
        " (not an organizer); `organizer` and `admin` are members of the organization;"
        " `other_admin` is the admin of another organization.",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
    ]
    for key, answers in TABLE.items():
        method, rule, overrides = _split(key)
        name = f"`{method} {rule}`" + "".join(
            f" ({k}={v.lstrip('@')})" for k, v in overrides.items())
        cells = [labels[answers[p]] for p in PRINCIPALS]
        lines.append("| " + " | ".join([name.replace("|", "\\|"), *cells]) + " |")
    return "\n".join([*lines, "", "## Why some rows are so", "", *WHY]) + "\n"


# Decisions the table shows but cannot explain (printed under it in docs/permissions.md).
WHY = [
    "- **The audit log** (`/console/audit/`, its CSV) is for the organization's admins only,"
    " like the members page: it names every member and what each did with people's data"
    " (the organizers' exports, erasures and opt-outs among them), so it is the admins'"
    " way of overseeing the organizers, not the organizers' own tool. Organizers see on the"
    " contacts page that exports are recorded, without a link; operators read every"
    " organization's log with `flask audit list`.",
]


def test_docs_show_the_table():
    docs = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
    assert docs.exists() and docs.read_text() == markdown(), (
        "docs/permissions.md is out of date: python -m tests.test_permissions >"
        " docs/permissions.md")


if __name__ == "__main__":
    print(markdown(), end="")
