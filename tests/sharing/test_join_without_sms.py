"""Where no SMS can be sent (the simulator, the default): no code is ever shown to whoever asks,
join links enroll with a name alone, returning volunteers use a personal sign-in link, and
phone-only organizers set a password. Also: the development mode that shows codes refuses a
public address, and sign-in by phone answers alike for every number where texts can be sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ringround import create_app
from ringround.accounts import role_in
from ringround.config import ConfigError, TelephonySettings, build_config
from ringround.enrollment import create_join_link
from ringround.models import (
    AuditEntry,
    Membership,
    OperationMember,
    OperationRole,
    PhoneCode,
    SigninLink,
    SimText,
    User,
    utcnow,
)
from tests.conftest import TEST_SECRET
from tests.sharing.conftest import PASSWORD, form_post, sign_in
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN, CapturingHttpClient
from tests.telephony.test_provider_failures import run_later_jobs

SIX_DIGITS = re.compile(r"(?<![\d#])\d{6}(?!\d)")


def _codes_in(html: str) -> list[str]:
    return SIX_DIGITS.findall(html)


def _member(db, operation_id, user_id):
    return db.session.scalar(select(OperationMember).where(
        OperationMember.operation_id == operation_id, OperationMember.user_id == user_id))


# ---- no code, ever, in the default configuration ------------------------------------------

def test_a_volunteer_joins_by_link_with_a_name_alone_and_stays_signed_in(db, client, world):
    page = client.get(f"/j/{world.token}").get_data(as_text=True)
    assert "Text me a code" not in page and "Join and start calling" in page
    response = form_post(client, f"/j/{world.token}", {"name": "Noor Caller", "phone": ""})
    assert response.status_code == 302 and response.location == f"/call/{world.operation.id}"
    assert "remember_token" in response.headers.get("Set-Cookie", "") or \
        client.get_cookie("remember_token") is not None
    user = db.session.scalar(select(User).where(User.display_name == "Noor Caller"))
    assert user.phone_e164 is None and user.password_hash is None
    assert _member(db, world.operation.id, user.id).role == OperationRole.AGENT
    assert db.session.scalar(select(func.count(PhoneCode.id))) == 0
    assert db.session.scalar(select(func.count(SimText.id))) == 0
    assert client.get("/my/operations").status_code == 200


def test_no_page_shows_a_code_and_phone_sign_in_answers_alike(db, client, world, factories):
    known = factories.phone_user("Known", phone="+12025550155")
    db.session.add(OperationMember(operation_id=world.operation.id, user_id=known.id))
    db.session.commit()
    answers = []
    for number in ("202-555-0155", "202-555-0166"):
        response = form_post(client, "/signin/phone", {"phone": number})
        answers.append((response.status_code, _strip_tokens(response.get_data(as_text=True))))
        assert _codes_in(client.get("/signin/phone").get_data(as_text=True)) == []
        assert client.get("/signin/phone/code").status_code == 302  # no code step at all
    assert answers[0][0] == 200, answers[0][1][:2000]
    assert answers[0] == answers[1]
    assert "does not send text messages" in answers[0][1]
    assert "personal sign-in link" in answers[0][1]
    assert db.session.scalar(select(func.count(PhoneCode.id))) == 0
    assert db.session.scalar(select(func.count(SimText.id))) == 0


def test_a_known_number_on_a_join_link_makes_a_new_account_not_a_takeover(db, client, world,
                                                                           factories):
    organizer = factories.phone_user("Phone organizer", phone="+12025550177")
    db.session.add(Membership(organization_id=world.org.id, user_id=organizer.id,
                              role="organizer"))
    db.session.commit()
    response = form_post(client, f"/j/{world.org_token}",
                         {"name": "Mallory", "phone": "202-555-0177"})
    assert response.location == "/console/"
    mallory = db.session.scalar(select(User).where(User.display_name == "Mallory"))
    assert mallory.id != organizer.id and mallory.phone_e164 is None  # the number stays theirs
    html = client.get("/console/").get_data(as_text=True)
    assert organizer.display_name not in html
    assert _codes_in(html) == []


def test_a_bad_optional_number_is_explained_next_to_the_field_and_keeps_the_name(client, world):
    response = form_post(client, f"/j/{world.token}", {"name": "Sam", "phone": "555"})
    assert response.location == f"/j/{world.token}"
    html = client.get(f"/j/{world.token}").get_data(as_text=True)
    assert "phone number does not look right" in html and 'value="Sam"' in html


# ---- development mode -------------------------------------------------------------------

@pytest.mark.parametrize("url", [None, "https://calls.example.org", "http://10.0.0.5:5000",
                                 "http://localhost.example.org"])
def test_the_app_refuses_to_start_showing_codes_on_a_public_address(tmp_path, url):
    with pytest.raises(ConfigError, match="DEV_SHOW_CODES"):
        create_app({"SECRET_KEY": TEST_SECRET, "DEV_SHOW_CODES": True, "PUBLIC_BASE_URL": url},
                   instance_path=str(tmp_path))


@pytest.mark.parametrize("url", ["http://localhost:5000", "http://127.0.0.1:8000",
                                 "http://[::1]:5000", "http://ringround.test",
                                 "http://app.localhost"])
def test_development_mode_starts_on_a_local_address(tmp_path, url):
    app = create_app({"SECRET_KEY": TEST_SECRET, "DEV_SHOW_CODES": True,
                      "PUBLIC_BASE_URL": url}, instance_path=str(tmp_path))
    assert app.config["DEV_SHOW_CODES"] is True


def test_development_mode_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DEV_SHOW_CODES", "1")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://calls.example.org")
    assert build_config(tmp_path)["DEV_SHOW_CODES"] is True
    with pytest.raises(ConfigError):
        create_app({"SECRET_KEY": TEST_SECRET}, instance_path=str(tmp_path))


# ---- with a real provider: texted, never shown, same answer for every number ------------

@pytest.fixture
def twilio_client(app):
    http = CapturingHttpClient()
    app.config.update(TELEPHONY=TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN),
                      TWILIO_HTTP_CLIENT=http,
                      PUBLIC_BASE_URL="https://localhost", DEV_SHOW_CODES=True)
    app.extensions.pop("telephony", None)
    return http


def test_with_twilio_sign_in_answers_the_same_for_known_and_unknown_numbers(
        db, client, world, factories, twilio_client):
    factories.phone_user("Known", phone="+12025550155")
    pages = []
    for number in ("+12025550155", "+12025550166"):
        other = client.application.test_client()
        response = form_post(other, "/signin/phone", {"phone": number})
        assert response.status_code == 302 and response.location == "/signin/phone/code"
        page = other.get("/signin/phone/code").get_data(as_text=True)
        assert _codes_in(page) == []  # texted, never shown (even with DEV_SHOW_CODES)
        pages.append(page.replace(number[-4:], "XXXX"))
    assert _strip_tokens(pages[0]) == _strip_tokens(pages[1])
    texted = [r["data"]["To"] for r in twilio_client.requests]
    assert texted == ["+12025550155"]  # only the account's phone gets a text


def test_with_twilio_a_join_code_is_texted_and_not_shown(db, client, world, twilio_client):
    form_post(client, f"/j/{world.token}", {"name": "Sam", "phone": "+12025550142"})
    body = twilio_client.requests[-1]["data"]["Body"]
    code = SIX_DIGITS.search(body).group(0)
    assert code not in client.get("/j/verify").get_data(as_text=True)


def test_with_twilio_a_sign_in_text_is_a_job_so_timing_reveals_nothing(
        app, db, client, world, factories):
    """The answer never waits for the provider: the text is a queue job, sent by a worker."""
    from ringround.background import huey, init_queue

    http = CapturingHttpClient()
    app.config.update(TELEPHONY=TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN),
                      TWILIO_HTTP_CLIENT=http, JOBS_IMMEDIATE=False,
                      PUBLIC_BASE_URL="https://calls.example.org")
    app.extensions.pop("telephony", None)
    init_queue(app)  # jobs wait in the (memory) queue, as for a worker
    try:
        factories.phone_user("Known", phone="+12025550155")
        response = form_post(client, "/signin/phone", {"phone": "+12025550155"})
        assert response.location == "/signin/phone/code"
        assert http.requests == [] and len(huey) == 1  # answered; the text waits its job
        task = huey.dequeue()
        # What waits in the queue's storage is sealed: no code, no words of the text.
        stored = repr((task.args, task.kwargs))
        assert "code" not in stored and SIX_DIGITS.findall(stored.replace("+12025550155", ""))\
            == []
        huey.execute(task)  # what the worker does
        assert [r["data"]["To"] for r in http.requests] == ["+12025550155"]
        assert SIX_DIGITS.search(http.requests[0]["data"]["Body"])  # the code, unsealed
    finally:
        app.config["JOBS_IMMEDIATE"] = True
        init_queue(app)


def test_a_sign_in_text_that_fails_for_good_keeps_no_readable_code_for_admins(
        app, db, client, world, factories):
    """The provider down through every retry: the failed job is kept for an admin to see
    and run again, its code sealed; run again, it texts the code."""
    from ringround.background import huey, init_queue
    from ringround.models import FailedJob
    from tests.telephony.conftest import twilio_error

    http = CapturingHttpClient()
    app.config.update(TELEPHONY=TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN),
                      TWILIO_HTTP_CLIENT=http, JOBS_IMMEDIATE=False,
                      PUBLIC_BASE_URL="https://calls.example.org")
    app.extensions.pop("telephony", None)
    init_queue(app)
    try:
        factories.phone_user("Known", phone="+12025550155")
        form_post(client, "/signin/phone", {"phone": "+12025550155"})
        http.failures = [twilio_error(20503)] * 4
        huey.execute(huey.dequeue())  # the first try, then three retries when they are due
        while run_later_jobs():
            pass
        assert len(http.requests) == 4
        failed = db.session.scalars(select(FailedJob)).one()
        shown = repr((failed.args, failed.kwargs))
        assert "code" not in shown and \
            SIX_DIGITS.findall(shown.replace("+12025550155", "")) == []
        from ringround.background import run_again
        run_again(db.session, failed)
        huey.execute(huey.dequeue())
        assert SIX_DIGITS.search(http.requests[-1]["data"]["Body"])
    finally:
        app.config["JOBS_IMMEDIATE"] = True
        init_queue(app)


def _strip_tokens(html: str) -> str:
    return re.sub(r'(csrf_token" type="hidden" value="|"X-CSRFToken": ")[^"]+', "", html)


# ---- personal sign-in links ------------------------------------------------------------

def _make_link(client, world, member_id):
    response = form_post(client, f"/operations/{world.operation.id}/people/{member_id}"
                                 "/signin-link", {})
    html = response.get_data(as_text=True)
    match = re.search(r'value="https?://[^"]*(/in/[A-Za-z0-9_-]{22})"', html)
    return response, html, (match.group(1) if match else None)


def test_an_owner_makes_a_one_time_sign_in_link_that_signs_the_volunteer_in(
        db, client, world):
    sign_in(client, world.owner)
    response, html, path = _make_link(client, world, world.agent_member_id)
    assert response.status_code == 200 and path and 'src="data:image/svg+xml;base64,' in html
    assert response.headers["Cache-Control"] == "no-store"
    stored = db.session.scalar(select(SigninLink))
    assert stored.token_hash != path[4:] and len(stored.token_hash) == 64
    assert timedelta(minutes=55) < stored.expires_at - utcnow() <= timedelta(hours=1)

    phone = client.application.test_client()
    page = phone.get(path)  # a link preview must not burn it: GET only asks
    assert page.status_code == 200 and world.agent.display_name in page.get_data(as_text=True)
    done = form_post(phone, path, {})
    assert done.status_code == 302 and done.location == f"/call/{world.operation.id}"
    assert phone.get_cookie("remember_token") is not None
    assert phone.get("/my/operations").status_code == 200

    again = client.application.test_client()
    assert again.get(path).status_code == 410
    refused = form_post(again, path, {})
    assert refused.status_code == 410 and again.get("/my/operations").status_code == 302
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject_id == world.agent.id, AuditEntry.action.like("signin_link.%"))).all()
    assert sorted(actions) == ["signin_link.created", "signin_link.used"]


def test_a_sign_in_link_expires(db, client, world):
    sign_in(client, world.owner)
    _response, _html, path = _make_link(client, world, world.agent_member_id)
    stored = db.session.scalar(select(SigninLink))
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    phone = client.application.test_client()
    assert form_post(phone, path, {}).status_code == 410
    assert phone.get("/my/operations").status_code == 302


def test_a_new_sign_in_link_switches_off_the_previous_one(db, client, world):
    sign_in(client, world.owner)
    _r, _h, first = _make_link(client, world, world.agent_member_id)
    _r, _h, second = _make_link(client, world, world.agent_member_id)
    phone = client.application.test_client()
    assert form_post(phone, first, {}).status_code == 410
    assert form_post(phone, second, {}).status_code == 302


@pytest.mark.parametrize("who", ["agent", "other_admin", "anonymous"])
def test_only_organizers_and_owners_of_the_operation_make_sign_in_links(db, client, world, who):
    sign_in(client, world.user(who))
    response, _html, path = _make_link(client, world, world.agent_member_id)
    assert path is None and response.status_code in (302, 403, 404)
    assert db.session.scalar(select(func.count(SigninLink.id))) == 0


def test_an_organizer_makes_sign_in_links_but_an_owner_cannot_for_an_organizer(
        db, client, world):
    member = OperationMember(operation_id=world.operation.id, user_id=world.organizer.id,
                             role=OperationRole.AGENT)
    db.session.add(member)
    db.session.commit()
    sign_in(client, world.owner)
    _response, _html, path = _make_link(client, world, member.id)
    assert path is None  # an owner could otherwise enter the organization as its organizer
    assert "access beyond" in client.get(
        f"/operations/{world.operation.id}/people").get_data(as_text=True)
    other = client.application.test_client()
    sign_in(other, world.admin)
    _response, _html, path = _make_link(other, world, member.id)
    assert path is not None


# ---- phone-only organizers set a password ------------------------------------------------

def test_a_phone_only_organizer_is_asked_to_set_a_password_until_they_do(db, client, world):
    form_post(client, f"/j/{world.org_token}", {"name": "Phone Organizer", "phone": ""})
    organizer = db.session.scalar(select(User).where(User.display_name == "Phone Organizer"))
    assert role_in(db.session, organizer, world.org.id) is not None
    assert "Set a password" in client.get("/console/").get_data(as_text=True)

    refused = form_post(client, "/account/password",
                        {"email": "", "password": "short", "confirm": "short"})
    html = refused.get_data(as_text=True)
    assert "Please give the email" in html and html.count("has-error") >= 2  # all at once
    form_post(client, "/account/password", {"email": "po@example.org", "password": PASSWORD,
                                            "confirm": PASSWORD})
    db.session.refresh(organizer)
    assert organizer.email == "po@example.org" and organizer.password_hash
    assert "Set a password" not in client.get("/console/").get_data(as_text=True)
    fresh = client.application.test_client()
    sign_in(fresh, organizer)  # email and password now work on another device
    assert fresh.get("/console/").status_code == 200


def test_volunteers_and_password_organizers_are_not_asked(db, client, world):
    form_post(client, f"/j/{world.token}", {"name": "Vol", "phone": ""})
    assert "Set a password" not in client.get("/my/operations").get_data(as_text=True)
    other = client.application.test_client()
    sign_in(other, world.organizer)
    assert "Set a password" not in other.get("/console/").get_data(as_text=True)


# ---- removals hold -----------------------------------------------------------------------

def test_a_removed_agent_cannot_rejoin_by_link_until_added_back(db, client, world):
    owner = client.application.test_client()
    sign_in(owner, world.owner)
    form_post(owner, f"/operations/{world.operation.id}/people/{world.agent_member_id}/remove",
              {})
    assert _member(db, world.operation.id, world.agent.id) is None

    sign_in(client, world.agent)
    refused = form_post(client, f"/j/{world.token}", {"one_tap": "1"})
    assert refused.status_code == 403
    assert ("An organizer removed you from this operation; ask them to add you back."
            in refused.get_data(as_text=True))
    assert _member(db, world.operation.id, world.agent.id) is None
    owner_link, owner_token = create_join_link(db.session, org=world.org, actor=world.owner,
                                               operation=world.operation, role="owner")
    db.session.commit()
    assert form_post(client, f"/j/{owner_token}", {"one_tap": "1"}).status_code == 403
    assert owner_link.uses == 0 and world.link.uses == 0

    people = owner.get(f"/operations/{world.operation.id}/people").get_data(as_text=True)
    assert "Add back" in people and world.agent.display_name in people
    form_post(owner, f"/operations/{world.operation.id}/people",
              {"user_id": str(world.agent.id), "role": "agent"})
    assert _member(db, world.operation.id, world.agent.id).role == OperationRole.AGENT
    assert "Add back" not in owner.get(
        f"/operations/{world.operation.id}/people").get_data(as_text=True)
    joined = form_post(client, f"/j/{world.token}", {"one_tap": "1"})
    assert joined.location == f"/call/{world.operation.id}"

