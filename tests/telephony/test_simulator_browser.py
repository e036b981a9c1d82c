"""The simulated phones page in a real browser (strict CSP, phone width)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ringround.extensions import db
from tests.browser_fixtures import page_width
from tests.factories import PASSWORD
from tests.telephony.conftest import CAMPAIGN

pytestmark = pytest.mark.browser


def test_an_organizer_texts_help_and_answers_a_call_from_the_simulator(phone_page,
                                                                         live_server):
    from tests import factories

    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    org.help_text = "Local 42 phone bank: reply STOP to opt out."
    db.session.commit()
    page = phone_page
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/telephony/simulator/")
    texting = page.locator("form[action$='/telephony/simulator/texts']")
    texting.get_by_label("From phone").fill("+16175550142")
    texting.get_by_label("Text").fill("help")
    texting.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Local 42 phone bank: reply STOP to opt out.")).to_be_visible()
    calling = page.locator("form[action$='/telephony/simulator/dial']")
    calling.get_by_label("From phone").fill("+16175550142")
    calling.get_by_role("button", name="Call").click()
    expect(page.get_by_text("We may have called you from this number.")).to_be_visible()
    assert page_width(page) <= 360
    assert page.console_errors == []
