"""An organizer, on a desktop, from an empty server to a live operation, its links, poster,
dashboard and exports (the set-up, import and wizard are walked by the `world` fixture)."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from tests.journeys import walk
from tests.journeys.conftest import SUMMARY, assert_accessible


def _download(page, locator) -> str:
    with page.expect_download() as info:
        locator.click()
    with open(info.value.path(), encoding="utf-8-sig") as handle:
        return handle.read()


def test_organizer_shares_the_operation_and_exports_the_contacts(organizer_page, world):
    page = organizer_page
    page.goto(world["dashboard"])
    expect(page.get_by_role("heading", level=1)).to_contain_text(walk.OPERATION)
    expect(page.locator(".status, .badge").first).to_contain_text("Active")
    expect(page.locator("#figures")).to_contain_text(f"{walk.CREATED} targets")
    assert_accessible(page, "operation dashboard")
    page.screenshot(path=str(SUMMARY.parent / "journey-dashboard-1280.png"), full_page=True)

    # The poster of the agent link: one A4 page whose QR code is the link.
    page.get_by_role("link", name="Join links and QR").click()
    page.get_by_role("link", name="Callers at the tenants' meeting").click()
    page.get_by_role("link", name="Print a poster").click()
    assert_accessible(page, "poster")
    page.emulate_media(media="print")
    page.wait_for_function("document.querySelector('img.poster-qr').complete")
    assert walk.decode_qr(page.locator("img.poster-qr").screenshot()) == [world["agent_url"]]
    page.emulate_media(media="screen")
    page.go_back()
    page.get_by_role("link", name="Show full screen").click()
    assert_accessible(page, "full-screen QR")
    page.wait_for_function("document.querySelector('img.qr-full').complete")
    assert walk.decode_qr(page.locator("img.qr-full").screenshot()) == [world["agent_url"]]

    # Contacts export, read back: every imported person once, names intact.
    page.goto("/console/contacts/")
    assert_accessible(page, "contacts")
    text = _download(page, page.get_by_role("button", name="Export CSV"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == walk.CREATED
    names = {(r["first_name"], r["last_name"]) for r in rows}
    assert {("Zoë", "Müller"), ("José", "Núñez"), ("Björk", "Ødegaard"), ("李", "伟")} <= names
    assert page.console_errors == []


def test_the_dashboard_does_not_count_excluded_people_as_ready(organizer_page, world):
    page = organizer_page
    page.goto(world["dashboard"])
    expect(page.locator("#figures")).to_contain_text(f"{walk.READY} ready to call")


def test_the_retries_step_shows_what_is_stored_after_saving(organizer_page, world):
    page = organizer_page
    # Reached from the previous step (htmx), as the organizer does.
    page.goto(f"/console/operations/{world['operation_id']}/steps/questionnaire")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#step-title")).to_contain_text("6. Results and retries")
    busy = page.get_by_label("Try again after Busy", exact=True)
    no_answer = page.get_by_label("Try again after No answer", exact=True)
    attempts = page.get_by_label("More attempts for No answer", exact=True)
    minutes = page.get_by_label("Minutes between attempts for No answer", exact=True)
    expect(attempts).to_have_value("2")
    expect(minutes).to_have_value("60")
    expect(busy).not_to_be_checked()
    expect(no_answer).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#step-title")).to_contain_text("6. Results and retries")
    expect(busy).not_to_be_checked()
    expect(no_answer).to_be_checked()
    expect(attempts).to_have_value("2")
    expect(minutes).to_have_value("60")
    expect(page.get_by_label(f"Label for “{walk.CUSTOM_CODE}”")).to_have_value(walk.CUSTOM_CODE)


def test_exported_phones_keep_e164_and_the_extension_apart(organizer_page, world):
    page = organizer_page
    page.goto("/console/contacts/")
    rows = list(csv.DictReader(io.StringIO(
        _download(page, page.get_by_role("button", name="Export CSV")))))
    for row in rows:
        for column, value in row.items():
            if re.fullmatch(r"phone_\d+", column) and value:
                assert re.fullmatch(r"\+\d{8,15}", value), (column, value)
    bjork = next(r for r in rows if r["first_name"] == "Björk")
    assert "744" in bjork.values()
