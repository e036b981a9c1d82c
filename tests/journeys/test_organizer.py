"""An organizer, on a desktop, from an empty server to a live operation, its links, poster,
dashboard and exports (the set-up, import and wizard are walked by the `world` fixture)."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from tests.journeys import walk
from tests.journeys.conftest import assert_accessible


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
