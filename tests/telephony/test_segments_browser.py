"""The follow-up editor's segment counter in a real browser (strict CSP), phone and desktop."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from ringround.extensions import db
from tests.browser_fixtures import open_page, page_width
from tests.factories import PASSWORD
from tests.telephony.conftest import CAMPAIGN

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SCREENSHOT_DIR")


@pytest.mark.parametrize("width", [390, 1280])
def test_typing_a_follow_up_shows_encoding_segments_and_a_warning(browser, live_server, width):
    from tests import factories

    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    db.session.commit()
    page = open_page(browser, live_server, viewport={"width": width, "height": 844})
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(admin.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/telephony/")
        info = page.locator("#followup-segments")
        body = page.get_by_label("Text", exact=True)
        body.fill("Hi {first_name}, the rally is on Saturday.")
        expect(info).to_contain_text("With a name like Maria: GSM-7 · 1 segment")
        expect(info).to_contain_text("With a name like Aïcha: UCS-2 · 1 segment")
        body.fill("Zoë, " + "bring a friend to the rally on Saturday! " * 4)
        expect(info).to_contain_text("UCS-2 · 3 segments · costs 3× one text")
        expect(info.locator(".too-long")).to_contain_text("over 2 segments")
        help_info = page.locator("#help-text-segments")
        page.get_by_label("Reply to HELP").fill("Local 42: reply STOP to opt out.")
        expect(help_info).to_contain_text("GSM-7 · 1 segment")
        if SHOTS:
            body.scroll_into_view_if_needed()
            page.screenshot(path=os.path.join(SHOTS, f"segments-{width}.png"), full_page=True)
        assert page_width(page) <= width
        assert page.console_errors == []
    finally:
        page.context.close()
