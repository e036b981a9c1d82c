"""An organizer imports messy files in a real browser: mapping preview, progress bar, the
rejected-rows report; then filters with a live count and erases a person."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser_fixtures import loaded, open_page, page_width
from tests.core.people.conftest import FIXTURES


def sign_in(page, user):
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Your role: Admin")).to_be_visible()


@pytest.fixture
def desktop_page(browser, live_server):
    page = open_page(browser, live_server, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


def import_through_ui(page, name, region=None, change=None):
    page.get_by_role("link", name="Contacts").first.click()
    page.get_by_role("link", name="Import contacts").click()
    page.get_by_label("Contact file").set_input_files(str(FIXTURES / name))
    page.get_by_role("button", name="Upload and check columns").click()
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    for column, target in (change or {}).items():
        page.get_by_label(column, exact=True).select_option(target)
    if region:
        page.get_by_label("Country of national numbers").fill(region)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Import finished")).to_be_visible(timeout=20_000)


def test_import_french_file_and_download_the_report(desktop_page, live_server, tmp_path):
    page = desktop_page
    _org, admin = factories.org_with_admin()
    sign_in(page, admin)
    import_through_ui(page, "fr_semicolons_cp1252.csv", region="FR",
                      change={"Membre depuis": "ignore"})
    summary = page.locator(".import-summary")
    expect(summary.locator('[data-key="created"]')).to_have_text("4")
    expect(summary.locator('[data-key="merged"]')).to_have_text("1")
    expect(summary.locator('[data-key="rejected"]')).to_have_text("4")
    expect(page.locator("#import-bar")).to_have_attribute("value", re.compile(r"^\d+$"))

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download rejected rows").click()
    path = tmp_path / "report.csv"
    download_info.value.save_as(path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = [(r["row"], r["reason"]) for r in csv.DictReader(handle)]
    assert rows == [("4", "not a phone number (pas de téléphone)"), ("6", "no phone number"),
                    ("8", "too short to be a phone number (06 12)"),
                    ("9", "number mangled by a spreadsheet (scientific notation) (6.12346E+10)")]

    # Filter with a live count, then open a contact and erase it.
    page.get_by_role("link", name="See the contacts").click()
    expect(page.locator("#live-count [data-count]")).to_have_text("4")
    loaded(page).get_by_label("Postcode starts with").fill("750")
    expect(page.locator("#live-count [data-count]")).to_have_text("2")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="François Dubois").click()
    expect(page.get_by_text("+33 6 12 34 56 79")).to_be_visible()
    page.get_by_label("To erase this person").fill("erase")
    page.get_by_role("button", name="Erase this person").click()
    expect(page.get_by_text("The contact was erased")).to_be_visible()
    expect(page.locator("#live-count [data-count]")).to_have_text("3")
    assert page.console_errors == []


def test_import_xlsx_on_a_phone(phone_page, live_server):
    page = phone_page
    _org, admin = factories.org_with_admin()
    sign_in(page, admin)
    import_through_ui(page, "us_mixed.xlsx", region="US")
    expect(page.locator('.import-summary [data-key="created"]')).to_have_text("3")
    expect(page.locator('.import-summary [data-key="rejected"]')).to_have_text("1")
    page.get_by_role("link", name="See the contacts").click()
    expect(page.get_by_role("link", name="Maria García")).to_be_visible()
    assert page_width(page) <= 360
    assert page.console_errors == []


def test_a_file_without_phone_column_is_refused(desktop_page, live_server):
    page = desktop_page
    _org, admin = factories.org_with_admin()
    sign_in(page, admin)
    page.goto("/console/contacts/import")
    page.get_by_label("Contact file").set_input_files(str(FIXTURES / "no_phone_column.csv"))
    page.get_by_role("button", name="Upload and check columns").click()
    expect(page.get_by_text("No phone column found")).to_be_visible()
