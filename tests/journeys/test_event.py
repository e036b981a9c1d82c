"""First run and an event: the set-up page, then a sign-up form in kiosk mode on a tablet that
clears itself after each person; the organizer finds the sign-ups among the contacts."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser_fixtures import loaded
from tests.journeys import walk
from tests.journeys.conftest import DESKTOP, assert_accessible

TABLET = {"viewport": {"width": 800, "height": 1100}, "has_touch": True}


def test_setup_asks_for_the_country_and_guesses_the_time_zone(browser, live_server):
    context = browser.new_context(base_url=live_server.url,
                                  **{**DESKTOP, "timezone_id": "Europe/Paris"})
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_label("Country")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
    context.close()


def _sign_up(page, first: str, phone: str) -> None:
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill("Kovács")
    page.get_by_label("Phone").fill(phone)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Sign up").tap()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()


def test_kiosk_sign_up_at_an_event(desktop_page, browser, live_server):
    live_server.app.config["KIOSK_RETURN_SECONDS"] = 1  # the event's pace, not 6 s
    page = desktop_page
    walk.set_up_organization(page)
    page.get_by_role("link", name="Sign-up forms").click()
    assert_accessible(page, "sign-up forms")
    page.get_by_role("link", name="New sign-up form").click()
    assert_accessible(page, "sign-up form editor")
    page.get_by_label("Title", exact=True).fill("Rejoignez-nous / Join us")
    page.get_by_label("What people agree to (consent text)").fill(
        "You may call me about the tenants' society.")
    page.get_by_label("Tags to apply (comma-separated)").fill("fair-2026")
    for name, mode in [("First name", "required"), ("Last name", "optional"),
                       ("Phone", "required"), ("Email", "off")]:
        page.get_by_label(name, exact=True).select_option(mode)
    page.get_by_label("Kiosk mode").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The form is ready to share.")).to_be_visible()
    url = page.get_by_label("Public link").input_value()

    tablet = browser.new_context(base_url=live_server.url, **TABLET)
    kiosk = tablet.new_page()
    errors: list[str] = []
    kiosk.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    kiosk.goto(url)
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("Rejoignez-nous / Join us")
    assert_accessible(kiosk, "sign-up form (kiosk)")
    _sign_up(kiosk, "Zsófia", "617 555 0211")
    assert_accessible(kiosk, "sign-up thanks")
    assert "Zsófia" not in kiosk.content()
    expect(kiosk).to_have_url(re.compile(r"/s/[\w-]+$"), timeout=10_000)
    expect(kiosk.get_by_label("First name")).to_have_value("")
    _sign_up(kiosk, "Ödön", "617 555 0212")
    expect(kiosk.get_by_label("First name")).to_have_value("", timeout=10_000)
    assert "Zsófia" not in kiosk.content() and "Ödön" not in kiosk.content()
    assert errors == []
    tablet.close()

    # The organizer finds both, tagged.
    page.get_by_role("link", name="Contacts").first.click()
    expect(page).to_have_url(re.compile(r"/console/contacts/"))
    loaded(page).get_by_label("Has any of these tags").fill("fair-2026")
    expect(page.locator("#live-count [data-count]")).to_have_text("2")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name="Zsófia Kovács")).to_be_visible()
    expect(page.get_by_role("link", name="Ödön Kovács")).to_be_visible()
    assert page.console_errors == []
