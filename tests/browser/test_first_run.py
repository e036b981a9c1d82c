"""A new organizer sets up Ringround in a real browser and lands on the dashboard."""

import re

from playwright.sync_api import expect


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
    expect(page.get_by_text("Your role: admin")).to_be_visible()
    # htmx came from our own origin and loaded under the strict CSP.
    assert page.evaluate("typeof window.htmx") == "object"
    # Works at phone width: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == []


def test_the_layout_fits_320_pixels(browser, live_server, factories):
    factories.org_with_admin()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto("/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    context.close()
