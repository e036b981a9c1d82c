"""The join flow in real Chromium where texts are sent (the simulator in development mode, its
texts read off the simulated phone): every page on screen has its own URL, and reloading it
shows the same page without sending a form again (redirect after POST)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.caller_fixtures import calling_join_link
from tests.sharing.conftest import SMS_CODES, texted_code


@pytest.fixture
def app_overrides():
    return SMS_CODES


def _navigations(page) -> list[str]:
    """The method of every page load from now on (a POST on reload means a resubmission)."""
    methods: list[str] = []
    page.on("request", lambda r: methods.append(r.method)
            if r.is_navigation_request() and r.frame == page.main_frame else None)
    return methods


def _reloads_to_the_same_page(page, methods: list[str]) -> None:
    url, heading = page.url, page.get_by_role("heading", level=1).inner_text()
    methods.clear()
    page.reload()
    assert methods == ["GET"]
    assert page.url == url
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_every_join_step_has_its_own_url_that_reloads_to_the_same_page(phone_page, live_server):
    with live_server.app.app_context():
        token, op_id = calling_join_link()
    page = phone_page
    methods = _navigations(page)
    page.goto(f"/j/{token}")
    _reloads_to_the_same_page(page, methods)

    # A bad number: the message is next to the field, what was typed stays, the URL is the link.
    page.get_by_label("Your name").fill("Sam Caller")
    page.get_by_label("Your mobile number").fill("555")
    page.get_by_role("button", name="Text me a code").click()
    expect(page.locator(".field.has-error")).to_contain_text("phone number")
    expect(page.get_by_label("Your name")).to_have_value("Sam Caller")
    assert page.url.endswith(f"/j/{token}")
    _reloads_to_the_same_page(page, methods)
    expect(page.get_by_label("Your name")).to_have_value("Sam Caller")

    page.get_by_label("Your mobile number").fill("202 555 0142")
    page.get_by_role("button", name="Text me a code").click()
    expect(page).to_have_url(re.compile(r"/j/verify$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    _reloads_to_the_same_page(page, methods)

    with live_server.app.app_context():
        code = texted_code("+12025550142")  # as the volunteer reads it on their phone
    page.get_by_label("Code from the text message").fill(f"{(int(code) + 1) % 10**6:06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".field.has-error")).to_contain_text("That code is not right.")
    expect(page).to_have_url(re.compile(r"/j/verify$"))
    _reloads_to_the_same_page(page, methods)

    page.get_by_label("Code from the text message").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/call/{op_id}$"))
    expect(page.locator("#call form.result-form")).to_be_visible()
    _reloads_to_the_same_page(page, methods)
    expect(page.locator("#call form.result-form")).to_be_visible()
    assert page.console_errors == []
