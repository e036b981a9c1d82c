"""An admin reads the audit log on a phone (and at a desk), in French: from the menu, an
export and an erasure in words, a filter, the next page, the CSV download."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ringround.audit import record_audit
from ringround.extensions import db
from ringround.models.base import utcnow
from ringround.people.erasure import erase_contact
from ringround.people.export import audit_contacts_export
from tests import factories
from tests.browser_fixtures import open_page, page_width
from tests.journeys.conftest import assert_accessible

SHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "")) if os.environ.get("SCREENSHOTS_DIR") else None
SIZES = {"phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True},
         "desktop": {"viewport": {"width": 1366, "height": 900}}}


def _seed() -> str:
    org, admin = factories.org_with_admin(name="Lyon Nord")
    org.time_zone, admin.language = "Europe/Paris", "fr"
    organizer = factories.organizer(org, admin)
    start = utcnow() - timedelta(days=2)
    for i in range(55):  # older settings changes: more than one page
        entry = record_audit(db.session, org.id, admin.id, "organization.settings_changed",
                             "organization", org.id, {"changed": ["name"]})
        entry.created_at = start + timedelta(minutes=i)
    emma = factories.contact(org, first_name="Emma", last_name="Zorglub")
    audit_contacts_export(db.session, org.id, actor_id=organizer.id, list_name="Tous")
    db.session.commit()
    erase_contact(db.session, emma, organizer.id)
    return admin.email


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_an_admin_reads_the_audit_log_in_french(browser, live_server, size):
    email = _seed()
    page = open_page(browser, live_server, **SIZES[size])
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/console/")
    page.get_by_role("link", name="Journal d’audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal d’audit")
    entries = page.locator(".audit-entry")
    expect(entries.first).to_contain_text("Contact effacé")
    expect(entries.first).to_contain_text("contact effacé")
    expect(entries.nth(1)).to_contain_text("Contacts exportés")
    expect(entries.nth(1)).to_contain_text("1 contact")
    expect(page.locator("main")).not_to_contain_text("Zorglub")
    assert page_width(page) <= page.viewport_size["width"]
    assert_accessible(page, f"audit log ({size})", record=False)
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"audit-log-{size}.png"), full_page=True)

    page.get_by_role("link", name="Entrées plus anciennes").click()
    expect(entries).to_have_count(9)  # 59 entries: the organization, a member, 55 settings, 2
    expect(page.get_by_role("link", name="Entrées les plus récentes")).to_be_visible()

    page.get_by_label("Type d’action").select_option("erasures")
    page.get_by_role("button", name="Afficher").click()
    expect(entries).to_have_count(1)
    if SHOTS:
        page.screenshot(path=str(SHOTS / f"audit-log-erasures-{size}.png"), full_page=True)
    # The download takes the filter as chosen in the form, shown or not yet.
    page.get_by_label("Type d’action").select_option("exports")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger en CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert [row[2:4] for row in rows[1:]] == [["contacts.exported", "Contacts exportés"]]
    assert page.console_errors == []
    page.context.close()
