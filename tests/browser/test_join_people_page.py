"""An owner on a phone: makes a join link, finds a known volunteer and adds them (htmx)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser_fixtures import page_width
from tests.factories import PASSWORD
from tests.sharing.conftest import build_world


def test_owner_shares_a_link_and_adds_a_known_person(phone_page, live_server):
    with live_server.app.app_context():
        world = build_world()
        email, op_id, candidate = (world.organizer.email, world.operation.id,
                                   world.candidate.display_name)
    page = phone_page
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/operations/{op_id}/people")
    assert page_width(page) <= 360

    page.get_by_label("Find a person by name, email or phone").fill("Candid")
    add = page.get_by_role("button", name=f"Add {candidate}")
    expect(add).to_be_visible()  # results came by htmx, no page load
    assert re.search(rf"/operations/{op_id}/people$", page.url)
    add.click()
    expect(page.get_by_text("is now in this operation")).to_be_visible()
    expect(page.locator(".members")).to_contain_text(candidate)

    page.get_by_text("Options: expiry, limit, name").click()
    page.get_by_label("Most people who can join with it").fill("25")
    page.get_by_role("button", name="Make a join link").click()
    expect(page).to_have_url(re.compile(r"/links/\d+$"))
    expect(page.locator("#join-url")).to_have_value(re.compile(r"/j/[A-Za-z0-9_-]{22}$"))
    expect(page.get_by_text("0 / 25")).to_be_visible()
    assert page.console_errors == []
