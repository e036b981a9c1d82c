"""Join and phone-code rate limits: set from the environment, counted per device and link, so a
whole event on one Wi-Fi address is not locked out; HSTS on an https public address."""

from __future__ import annotations

import pytest

from ringround.config import build_config
from sharing.rate_keys import DEVICE_COOKIE
from tests.sharing.conftest import SMS_CODES, form_post


@pytest.fixture
def app_overrides():
    return {**SMS_CODES, "JOIN_RATE_LIMIT": "3 per minute", "CODE_SEND_RATE_LIMIT": "2 per minute",
            "CODE_CHECK_RATE_LIMIT": "2 per minute", "RATE_LIMIT_PER_ADDRESS": "100 per minute"}


def test_forty_volunteers_on_one_address_all_open_the_poster_link(app, world):
    """Same address (the event's Wi-Fi), forty phones: nobody is blocked."""
    for _phone in range(40):
        volunteer = app.test_client()  # its own cookies: another phone
        assert volunteer.get(f"/j/{world.token}").status_code == 200
        assert volunteer.get(f"/j/{world.token}").status_code == 200


def test_one_device_is_still_limited_on_one_link(client, world):
    for _ in range(3):
        assert client.get(f"/j/{world.token}").status_code == 200
    assert client.get(f"/j/{world.token}").status_code == 429


def test_each_link_has_its_own_count_for_a_device(client, world):
    for _ in range(3):
        assert client.get(f"/j/{world.token}").status_code == 200
    assert client.get(f"/j/{world.org_token}").status_code == 200


def test_a_client_that_drops_its_cookie_meets_the_per_address_backstop(client, world):
    statuses = []
    for _ in range(101):
        client.delete_cookie(DEVICE_COOKIE)
        statuses.append(client.get(f"/j/{world.token}").status_code)
    assert statuses[:100] == [200] * 100 and statuses[100] == 429


def test_the_device_cookie_is_long_lived_and_http_only(client, world):
    response = client.get(f"/j/{world.token}")
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith(DEVICE_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert DEVICE_COOKIE + "=" not in "".join(
        client.get(f"/j/{world.token}").headers.getlist("Set-Cookie"))  # kept, not remade


def test_code_sending_is_limited_per_device_not_per_address(app, client, world):
    for n in range(2):
        form_post(client, "/signin/phone", {"phone": f"+1202555010{n}"})
    assert form_post(client, "/signin/phone", {"phone": "+12025550109"}).status_code == 429
    other_phone = app.test_client()
    assert form_post(other_phone, "/signin/phone", {"phone": "+12025550108"}).status_code == 302


def test_code_checking_is_limited_per_device(app, client, world):
    form_post(client, "/signin/phone", {"phone": "+12025550100"})
    for _ in range(2):
        # a wrong code is refused and sent back to its own page (redirect after POST)
        assert form_post(client, "/signin/phone/code", {"code": "000000"}).status_code == 302
    assert form_post(client, "/signin/phone/code", {"code": "000000"}).status_code == 429
    other_phone = app.test_client()  # same address (the event's Wi-Fi), its own count
    form_post(other_phone, "/signin/phone", {"phone": "+12025550101"})
    assert form_post(other_phone, "/signin/phone/code", {"code": "000000"}).status_code == 302


def test_the_limits_are_read_from_the_environment(tmp_path, monkeypatch):
    settings = {"JOIN_RATE_LIMIT": "7 per minute", "CODE_SEND_RATE_LIMIT": "1 per hour",
                "CODE_CHECK_RATE_LIMIT": "4 per minute", "RATE_LIMIT_PER_ADDRESS": "9 per hour"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    config = build_config(tmp_path)
    assert {name: config[name] for name in settings} == settings


class TestHsts:
    @pytest.fixture
    def app_overrides(self):
        return {"PUBLIC_BASE_URL": "https://calls.example.org"}

    def test_an_https_public_address_gets_hsts_behind_a_plain_http_proxy(self, client):
        header = client.get("/login").headers.get("Strict-Transport-Security")
        assert header == "max-age=31536000; includeSubDomains"


def test_no_hsts_on_a_plain_http_site(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
