"""A volunteer who joined by link, on a phone: the menu holds their operations, not the
console's pages (each of which would answer them 403)."""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from tests.browser_fixtures import loaded, page_width
from tests.caller_fixtures import calling_join_link


def test_a_volunteers_menu_leads_to_their_operations_only(phone_page, live_server):
    with live_server.app.app_context():
        token, op_id = calling_join_link()
    page = phone_page
    page.goto(f"/j/{token}")
    page.get_by_label("Your name").fill("Sam Caller")
    page.get_by_role("button", name="Join and start calling").click()
    expect(page).to_have_url(re.compile(rf"/call/{op_id}$"))

    page.goto("/my/operations")
    menu = loaded(page).get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link")).to_have_text(["Your operations"])
    expect(menu.get_by_role("link", name="Dashboard")).to_have_count(0)
    assert page_width(page) <= 400  # the menu fits the phone
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "volunteer-menu.png"))
    menu.get_by_role("link", name="Your operations").click()
    expect(page.get_by_role("heading", name="Your operations")).to_be_visible()
    expect(page.get_by_role("link", name="Call")).to_have_attribute(
        "href", re.compile(rf"/call/{op_id}"))
    assert page.console_errors == []
