"""A new organizer sets up Ringround in a real browser and lands on the dashboard."""

import re

from playwright.sync_api import expect

from ringround.extensions import db
from ringround.models import Organization
from tests.browser_fixtures import loaded, open_page, page_width


def test_create_an_organization_through_the_ui(phone_page):
    page = phone_page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Organization name").fill("Tenants Union of Lyon")
    page.get_by_label("Your name").fill("Élodie")
    page.get_by_label("Email").fill("elodie@example.org")
    page.get_by_label("Password", exact=True).fill("a good long password")
    page.get_by_label("Password again").fill("a good long password")
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tenants Union of Lyon")
    expect(page.get_by_text("Your role: Admin")).to_be_visible()
    # htmx came from our own origin and loaded under the strict CSP (once the deferred
    # scripts ran: the heading shows before them).
    assert loaded(page).evaluate("typeof window.htmx") == "object"
    # Works at phone width: nothing wider than the screen.
    assert page_width(page) <= 360
    assert page.console_errors == []


def test_the_layout_fits_320_pixels(browser, live_server, factories):
    factories.org_with_admin()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto("/login")
    assert page_width(page) <= 320
    context.close()


def test_setup_preselects_the_browsers_time_zone_and_its_country(browser, live_server):
    # An English-speaking browser in Stockholm: the languages alone would say US.
    page = open_page(browser, live_server, timezone_id="Europe/Stockholm", locale="en-US",
                     viewport={"width": 1280, "height": 900})
    page.goto("/setup")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Stockholm")
    expect(page.get_by_label("Country")).to_have_value("SE")
    # Still the person's choice.
    page.get_by_label("Time zone").select_option("Europe/Helsinki")
    page.get_by_label("Organization name").fill("Hyresgästföreningen")
    page.get_by_label("Your name").fill("Sara")
    page.get_by_label("Email").fill("sara@example.org")
    page.get_by_label("Password", exact=True).fill("a good long password")
    page.get_by_label("Password again").fill("a good long password")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hyresgästföreningen")
    assert page.console_errors == []
    org = db.session.scalar(db.select(Organization))
    assert (org.default_region, org.time_zone) == ("SE", "Europe/Helsinki")
    page.context.close()
