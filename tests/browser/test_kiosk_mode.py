"""A sign-up form in kiosk mode on a tablet: it clears itself after each person and never
shows an earlier entry (not after the thank-you screen, not by going back)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.sharing.conftest import build_world

TABLET = {"viewport": {"width": 800, "height": 1100}, "has_touch": True}


def _kiosk_form(live_server) -> str:
    live_server.app.config["KIOSK_RETURN_SECONDS"] = 1
    with live_server.app.app_context():
        from ringround.extensions import db

        world = build_world()
        world.form.kiosk = True
        db.session.commit()
        return world.form.slug


def _values(page) -> list[str]:
    return page.eval_on_selector_all(
        "form[data-kiosk] input:not([type=hidden]):not([type=checkbox])",
        "inputs => inputs.map(i => i.value)")


def _sign_up(page, first: str, phone: str) -> None:
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill("Kovacs")
    page.get_by_label("Phone").fill(phone)
    page.get_by_label("Email").fill(f"{first.lower()}@example.org")
    page.get_by_label("You may call me about the campaign.").check()
    page.get_by_role("button", name="Sign up").click()


def test_kiosk_returns_to_an_empty_form_and_never_shows_earlier_entries(browser, live_server):
    slug = _kiosk_form(live_server)
    context = browser.new_context(base_url=live_server.url, **TABLET)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/s/{slug}")
    assert page.locator("form[data-kiosk]").get_attribute("autocomplete") == "off"

    _sign_up(page, "Zoltan", "202 555 0171")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert "Zoltan" not in page.content()
    # The thank-you screen goes back to an empty form by itself.
    expect(page).to_have_url(re.compile(rf"/s/{slug}$"), timeout=10_000)
    expect(page.get_by_label("First name")).to_be_visible()
    assert set(_values(page)) == {""}
    assert not page.get_by_label("You may call me about the campaign.").is_checked()

    # The browser's back button does not bring the last person's entry back either.
    page.go_back()
    page.wait_for_load_state()
    assert "Zoltan" not in "".join(_values(page)) and "zoltan@" not in page.content()
    page.goto(f"/s/{slug}")

    _sign_up(page, "Yara", "202 555 0172")
    expect(page).to_have_url(re.compile(rf"/s/{slug}$"), timeout=10_000)
    assert set(_values(page)) == {""}
    assert "Zoltan" not in page.content() and "Yara" not in page.content()
    assert errors == []
    context.close()

    with live_server.app.app_context():
        from sqlalchemy import select

        from ringround.extensions import db
        from ringround.models import Contact

        names = set(db.session.scalars(select(Contact.first_name)))
    assert {"Zoltan", "Yara"} <= names
