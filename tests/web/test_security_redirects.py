"""`next` after signing in: only same-site paths are followed (no open redirect)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ringround.redirects import safe_next_path
from tests.conftest import post_form
from tests.factories import PASSWORD
from tests.sharing.conftest import SMS_CODES


@pytest.fixture
def app_overrides():
    """Codes by SMS (the simulator, in development mode): phone sign-in keeps a `next`."""
    return SMS_CODES

# Each decodes (once, as Flask reads the query string) to something a browser would take to
# another site, or to a scheme of its own.
BYPASSES = [
    "//evil.example/phish",
    "///evil.example/phish",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example/phish",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    " /evil.example",
    "/ /evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%252F%252Fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example/phish",
    "https:evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "\u2215\u2215evil.example",       # division slashes
    "/\uff0f/evil.example",           # fullwidth solidus
    "/\u3002evil.example",
    "\uff0f\uff0fevil.example",
    "",
]


@pytest.mark.parametrize("target", BYPASSES)
def test_the_login_view_ignores_a_next_that_leaves_the_site(client, factories, target):
    _, admin = factories.org_with_admin()
    data = {"email": admin.email, "password": PASSWORD}
    response = post_form(client, "/login?next=" + quote(target, safe=""), data, page="/login")
    assert response.status_code == 302
    assert response.location in {"/console/", "http://localhost/console/"}


def test_the_reported_tab_trick_is_refused_as_sent(client, factories):
    _, admin = factories.org_with_admin()
    data = {"email": admin.email, "password": PASSWORD}
    response = post_form(client, "/login?next=/%09/evil.example/phish", data, page="/login")
    assert response.location in {"/console/", "http://localhost/console/"}


@pytest.mark.parametrize("target", ["/console/members", "/console/?tab=ops&x=%2Fa",
                                    "/caller/3/next", "/console/operations/4/edit#people"])
def test_the_login_view_follows_a_same_site_path(client, factories, target):
    _, admin = factories.org_with_admin()
    data = {"email": admin.email, "password": PASSWORD}
    response = post_form(client, "/login?next=" + quote(target, safe=""), data, page="/login")
    assert response.location == target


@pytest.mark.parametrize("target", BYPASSES)
def test_phone_sign_in_keeps_no_next_that_leaves_the_site(client, factories, target):
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/signin/phone").get_data(as_text=True))
    client.post("/signin/phone?next=" + quote(target, safe=""),
                data={"phone": "+12025550100", "csrf_token": token})
    with client.session_transaction() as session:
        assert session["signin_pending"]["next"] is None


@pytest.mark.parametrize("target", BYPASSES)
def test_safe_next_path_refuses_every_bypass(target):
    assert safe_next_path(target) is None


def test_safe_next_path_refuses_none():
    assert safe_next_path(None) is None
