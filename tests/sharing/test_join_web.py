"""Opening a join link over HTTP where texts can be sent: onboarding with an SMS code, one tap,
closed links, sign-in. (Without SMS: test_join_without_sms.py.)"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from ringround.enrollment import create_join_link, revoke_link
from ringround.models import JoinLinkUse, OperationMember, OperationRole, User, utcnow
from sharing.logs import RedactJoinTokens, redact
from sms.provider import get_provider
from tests.sharing.conftest import SMS_CODES, form_post, sign_in, texted_code


def _start(client, token, **details):
    data = {"name": "Sam Caller", "phone": "(202) 555-0142", **details}
    return form_post(client, f"/j/{token}", data)


def _member(db, operation_id, user_id):
    return db.session.scalar(select(OperationMember).where(
        OperationMember.operation_id == operation_id, OperationMember.user_id == user_id))


def test_a_volunteer_joins_with_name_phone_and_code_and_lands_in_the_caller_app(
        app, db, client, world):
    page = client.get(f"/j/{world.token}")
    assert page.status_code == 200 and "Rent strike calls" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    started = _start(client, world.token)
    assert started.status_code == 302 and started.location == "/j/verify"
    text = get_provider().outbox[-1]
    assert text.to == "+12025550142"
    verify = client.get("/j/verify").get_data(as_text=True)
    code = texted_code("+12025550142")
    assert code in text.body and world.token not in verify

    done = form_post(client, "/j/verify", {"code": code})
    assert done.status_code == 302 and done.location == f"/call/{world.operation.id}"
    user = db.session.scalar(select(User).where(User.phone_e164 == "+12025550142"))
    assert user.display_name == "Sam Caller" and user.password_hash is None
    member = _member(db, world.operation.id, user.id)
    assert member.role == OperationRole.AGENT and member.joined_via_link_id == world.link.id
    assert db.session.scalar(select(JoinLinkUse.user_id).where(
        JoinLinkUse.link_id == world.link.id)) == user.id
    # Signed in for good: the next request knows who this is.
    assert client.get("/my/operations").status_code == 200


def test_the_role_comes_only_from_the_link(db, client, world):
    _start(client, world.token, role="owner")
    code = texted_code("+12025550142")
    form_post(client, "/j/verify", {"code": code, "role": "owner"})
    user = db.session.scalar(select(User).where(User.phone_e164 == "+12025550142"))
    assert _member(db, world.operation.id, user.id).role == OperationRole.AGENT


def test_a_wrong_code_is_refused_with_the_tries_left(db, client, world):
    _start(client, world.token)
    code = texted_code("+12025550142")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = form_post(client, "/j/verify", {"code": wrong})
    assert response.status_code == 302 and response.location == "/j/verify"  # PRG
    again = client.get("/j/verify")
    assert "That code is not right. 4 tries left." in again.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone_e164 == "+12025550142")) is None


def test_a_bad_phone_number_gets_a_clear_message(client, world):
    response = _start(client, world.token, phone="555")
    assert response.status_code == 302 and response.location == f"/j/{world.token}"  # PRG
    html = client.get(f"/j/{world.token}").get_data(as_text=True)
    assert "phone number" in html and 'value="Sam Caller"' in html  # nothing typed is lost


def test_the_first_screen_asks_name_and_phone_with_the_rest_folded_away(client, world):
    html = client.get(f"/j/{world.token}").get_data(as_text=True)
    before_details = html.split("<details", 1)[0]
    assert before_details.count("<input") - before_details.count('type="hidden"') == 2
    assert 'autocomplete="tel"' in html and 'type="tel"' in html


def test_a_signed_in_user_joins_with_one_tap(db, client, world):
    sign_in(client, world.candidate)
    page = client.get(f"/j/{world.token}").get_data(as_text=True)
    assert "Join and start calling" in page
    response = form_post(client, f"/j/{world.token}", {"one_tap": "1"})
    assert response.location == f"/call/{world.operation.id}"
    assert _member(db, world.operation.id, world.candidate.id).role == OperationRole.AGENT


def test_an_organizer_link_leads_to_the_console(db, client, world):
    sign_in(client, world.candidate)
    response = form_post(client, f"/j/{world.org_token}", {"one_tap": "1"})
    assert response.location == "/console/"
    assert client.get("/console/").status_code == 200


@pytest.mark.parametrize(("change", "heading"), [
    ("revoke", "This join link was switched off"),
    ("expire", "This join link has expired"),
    ("cap", "This join link is full"),
])
def test_closed_links_say_why_and_whom_to_ask(db, client, world, change, heading):
    if change == "revoke":
        revoke_link(db.session, world.link, world.owner)
    elif change == "expire":
        world.link.expires_at = utcnow() - timedelta(minutes=1)
    else:
        world.link.max_uses = 1
        world.link.uses = 1
    world.org.help_text = "Text Jo on +1 202 555 0100"
    response = client.get(f"/j/{world.token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert heading in html and world.owner.display_name in html and "Tenants Union" in html
    assert "Text Jo on +1 202 555 0100" in html
    assert _start(client, world.token).status_code == 410


def test_a_link_closed_while_someone_was_entering_the_code_does_not_let_them_in(
        db, client, world):
    _start(client, world.token)
    code = texted_code("+12025550142")
    revoke_link(db.session, world.link, world.owner)
    response = form_post(client, "/j/verify", {"code": code})
    assert response.status_code == 410
    assert db.session.scalar(select(User).where(User.phone_e164 == "+12025550142")) is None


def test_an_unknown_token_is_a_clear_404(client):
    response = client.get("/j/AAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 404
    assert "This join link does not exist" in response.get_data(as_text=True)


def test_returning_volunteers_sign_in_with_phone_and_code(db, client, world, factories):
    volunteer = factories.phone_user("Returning", phone="+12025550155")
    db.session.add(OperationMember(operation_id=world.operation.id, user_id=volunteer.id))
    db.session.commit()
    response = form_post(client, "/signin/phone", {"phone": "202-555-0155"})
    assert response.location == "/signin/phone/code"
    code = texted_code("+12025550155")
    done = form_post(client, "/signin/phone/code", {"code": code})
    assert done.location == f"/call/{world.operation.id}"


def test_sign_in_does_not_reveal_whether_a_number_has_an_account(client, world):
    before = len(get_provider().outbox)
    response = form_post(client, "/signin/phone", {"phone": "202-555-0166"})
    assert response.location == "/signin/phone/code"
    assert len(get_provider().outbox) == before  # nothing texted to strangers
    page = client.get("/signin/phone/code").get_data(as_text=True)
    assert "We texted a 6-digit code" in page
    refused = form_post(client, "/signin/phone/code", {"code": "123456"},
                        follow_redirects=True)
    assert "That code is not right." in refused.get_data(as_text=True)


def test_join_tokens_never_reach_the_logs(app, client, world, caplog):
    caplog.set_level(logging.DEBUG)
    _start(client, world.token)
    assert world.token not in caplog.text
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "now", f"GET /j/{world.token} HTTP/1.1", "200", "-"),
                               None)
    RedactJoinTokens().filter(record)
    assert world.token not in record.getMessage()
    assert "/j/[token]" in record.getMessage()
    assert redact("/j/verify") == "/j/verify"
    assert any(isinstance(f, RedactJoinTokens) for f in logging.getLogger("werkzeug").filters)


def test_the_token_is_not_kept_in_the_session_or_in_redirects(client, world):
    response = _start(client, world.token)
    assert world.token not in response.location
    cookie = client.get_cookie("session")
    assert cookie is not None and world.token not in cookie.value


@pytest.fixture
def app_overrides():
    return {**SMS_CODES, "CODE_SEND_RATE_LIMIT": "2 per minute"}


def test_sending_codes_is_rate_limited(client, world):
    for n in range(2):
        assert _start(client, world.token, phone=f"+1202555018{n}").status_code == 302
    assert _start(client, world.token, phone="+12025550189").status_code == 429


def test_people_page_lists_links_and_who_joined(db, client, world):
    _start(client, world.token)
    code = texted_code("+12025550142")
    form_post(client, "/j/verify", {"code": code})
    client.post("/logout", data={})
    other = client.application.test_client()
    sign_in(other, world.owner)
    detail = other.get(f"/links/{world.link.id}").get_data(as_text=True)
    assert "Sam Caller" in detail and f"/j/{world.token}" in detail
    people = other.get(f"/operations/{world.operation.id}/people").get_data(as_text=True)
    assert "Sam Caller" in people and "•••• 0142" in people and "+12025550142" not in people


def test_owners_make_links_with_expiry_and_cap(db, client, world):
    sign_in(client, world.owner)
    response = form_post(client, f"/operations/{world.operation.id}/links",
                         {"role": "owner", "expires": "1d", "max_uses": "5", "label": "Board"})
    link_id = int(response.location.rsplit("/", 1)[1])
    from ringround.models import JoinLink

    link = db.session.get(JoinLink, link_id)
    assert link.role.value == "owner" and link.max_uses == 5 and link.label == "Board"
    assert timedelta(hours=23) < link.expires_at - utcnow() <= timedelta(hours=24)


def test_an_organization_link_only_ever_makes_organizers(db, client, world):
    from ringround.models import JoinLink

    sign_in(client, world.organizer)
    response = form_post(client, "/console/join-links", {"role": "owner", "expires": ""})
    newest = db.session.scalar(select(JoinLink).order_by(JoinLink.id.desc()).limit(1))
    assert response.location == f"/links/{newest.id}"
    assert newest.operation_id is None and newest.role.value == "organizer"


def test_owners_add_known_people_change_roles_and_remove_them(db, client, world):
    sign_in(client, world.owner)
    results = client.get(f"/operations/{world.operation.id}/people/search?q=cand",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert world.candidate.display_name in results and "<html" not in results
    form_post(client, f"/operations/{world.operation.id}/people",
              {"user_id": str(world.candidate.id), "role": "agent"})
    member = _member(db, world.operation.id, world.candidate.id)
    assert member.role == OperationRole.AGENT
    form_post(client, f"/operations/{world.operation.id}/people/{member.id}/role",
              {"role": "owner"})
    assert _member(db, world.operation.id, world.candidate.id).role == OperationRole.OWNER
    form_post(client, f"/operations/{world.operation.id}/people/{member.id}/remove", {})
    assert _member(db, world.operation.id, world.candidate.id) is None


def test_owners_cannot_add_strangers(db, client, world, factories):
    stranger = factories.phone_user("Stranger")
    sign_in(client, world.owner)
    response = form_post(client, f"/operations/{world.operation.id}/people",
                         {"user_id": str(stranger.id), "role": "agent"})
    assert response.status_code == 404
    assert _member(db, world.operation.id, stranger.id) is None


def test_a_link_gives_its_role_only_in_its_own_operation(db, client, world, factories):
    other_op = factories.operation(world.org, world.owner, name="Second")
    link, token = create_join_link(db.session, org=world.org, actor=world.owner,
                                   operation=other_op)
    db.session.commit()
    sign_in(client, world.agent)
    form_post(client, f"/j/{token}", {"one_tap": "1"})
    assert _member(db, other_op.id, world.agent.id).role == OperationRole.AGENT
    assert _member(db, world.operation.id, world.agent.id).role == OperationRole.AGENT
    assert link.id


def test_the_sign_in_page_points_volunteers_to_phone_sign_in(client, world):
    assert 'href="/signin/phone"' in client.get("/login").get_data(as_text=True)


def test_the_organizer_links_page_lists_operations_once_under_a_plain_title(db, client, world):
    sign_in(client, world.organizer)
    html = client.get("/console/join-links").get_data(as_text=True)
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Join links" in title
    assert html.count("Links for callers") == 1
    assert html.count(world.operation.name) == 1


def test_a_national_number_is_read_as_the_organizations_country(db, client, world):
    world.org.default_region = "FR"
    db.session.commit()
    started = _start(client, world.token, phone="06 12 34 56 78")
    assert started.status_code == 302 and started.location == "/j/verify"
    assert get_provider().outbox[-1].to == "+33612345678"
