"""Signing out ends every way back in: the session, the remember cookie, other devices."""

from __future__ import annotations

import pytest

from tests.caller_fixtures import calling_join_link
from tests.conftest import csrf_token_from, post_form
from tests.factories import PASSWORD
from tests.sharing.conftest import SMS_CODES, texted_code

REMEMBER = "remember_token"


@pytest.fixture
def app_overrides():
    return SMS_CODES


def _join(client, token: str, phone: str = "+1 202 555 0142") -> str:
    """Join by link as a volunteer does (name and number, then the code texted to it)."""
    started = post_form(client, f"/j/{token}", {"name": "Sam Caller", "phone": phone})
    assert started.status_code == 302
    verify = client.get("/j/verify").get_data(as_text=True)
    e164 = "+1" + "".join(ch for ch in phone if ch.isdigit())[-10:]
    done = client.post("/j/verify", data={"code": texted_code(e164),
                                          "csrf_token": csrf_token_from(verify)})
    assert done.status_code == 302
    return done.location


def _sign_out(client, page: str):
    html = client.get(page).get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": csrf_token_from(html)})


def _cookie(client, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _caller_page_is_closed(client, op_id: int) -> bool:
    response = client.get(f"/call/{op_id}")
    return response.status_code == 302 and response.location.startswith(("/login", "/signin"))


def test_signing_out_after_joining_deletes_the_remember_cookie(app, client):
    token, op_id = calling_join_link()
    landing = _join(client, token)
    assert landing == f"/call/{op_id}" and _cookie(client, REMEMBER)
    response = _sign_out(client, landing)
    assert response.status_code == 302
    assert _cookie(client, REMEMBER) is None
    assert _caller_page_is_closed(client, op_id)
    # The sign-in page does not bounce a signed-out volunteer back to the caller app.
    assert client.get(response.location).status_code == 200


def test_an_old_session_cookie_is_refused_after_signing_out(app, client):
    token, op_id = calling_join_link()
    _join(client, token)
    old_session = _cookie(client, "session")
    _sign_out(client, f"/call/{op_id}")
    replay = app.test_client()
    replay.set_cookie("session", old_session)
    assert _caller_page_is_closed(replay, op_id)


def test_an_old_remember_cookie_is_refused_after_signing_out(app, client):
    token, op_id = calling_join_link()
    _join(client, token)
    old_remember = _cookie(client, REMEMBER)
    _sign_out(client, f"/call/{op_id}")
    replay = app.test_client()
    replay.set_cookie(REMEMBER, old_remember)
    assert _caller_page_is_closed(replay, op_id)


def test_signing_out_signs_out_the_same_persons_other_devices_only(app, client):
    token, op_id = calling_join_link()
    _join(client, token)
    tablet = app.test_client()
    _join(tablet, token)  # the same volunteer on a second device
    stranger = app.test_client()
    _join(stranger, token, phone="+1 202 555 0199")
    _sign_out(client, f"/call/{op_id}")
    assert _caller_page_is_closed(tablet, op_id)
    assert stranger.get(f"/call/{op_id}").status_code == 200


def test_signing_in_again_after_signing_out_works(app, client, factories):
    _org, admin = factories.org_with_admin()
    post_form(client, "/login", {"email": admin.email, "password": PASSWORD, "remember": "y"})
    assert _cookie(client, REMEMBER)
    _sign_out(client, "/console/")
    assert _cookie(client, REMEMBER) is None
    assert client.get("/console/").location.startswith("/login")
    post_form(client, "/login", {"email": admin.email, "password": PASSWORD})
    assert client.get("/console/").status_code == 200


def test_signing_out_needs_a_post_with_its_csrf_token(app, client, factories):
    _org, admin = factories.org_with_admin()
    post_form(client, "/login", {"email": admin.email, "password": PASSWORD})
    assert client.get("/logout").status_code == 405
    assert client.post("/logout", data={}).status_code == 400
    assert client.get("/console/").status_code == 200  # still signed in
