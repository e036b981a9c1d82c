"""The organization's settings page: admins change name, country, time zone, help text and
default calling hours; organizers only see them; the country and zone are then used."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

from sqlalchemy import select

from ringround import operations as ops
from ringround.models import AuditEntry, Contact, ContactPhone, OrgRole
from tests.conftest import csrf_token_from, post_form
from tests.core.people.conftest import FIXTURES
from tests.factories import login
from tests.web.test_contacts import wait_checked

GOOD = {"name": "Locataires de Lyon", "country": "FR", "time_zone": "Europe/Paris",
        "help_text": "Écrivez à contact@example.org", "window_start": "10:00",
        "window_end": "20:30"}


def test_an_admin_changes_the_settings(client, db, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    page = client.get("/console/settings").get_data(as_text=True)
    assert 'href="/console/settings"' in page  # in the console's navigation
    assert '<option selected value="US">' in page and 'value="09:00"' in page
    response = post_form(client, "/console/settings", GOOD)
    assert response.status_code == 302
    db.session.refresh(org)
    assert (org.name, org.default_region, org.time_zone, org.help_text) == (
        "Locataires de Lyon", "FR", "Europe/Paris", "Écrivez à contact@example.org")
    assert (org.default_window_start, org.default_window_end) == (time(10), time(20, 30))
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "organization.settings_changed")) is not None
    # New operations start with the default hours.
    op = ops.create_draft(db.session, org.id, admin)
    assert (op.window_start, op.window_end) == (time(10), time(20, 30))


def test_an_organizer_sees_the_settings_but_cannot_change_them(client, db, factories):
    org, admin = factories.org_with_admin()
    organizer = factories.organizer(org, admin, OrgRole.ORGANIZER)
    login(client, organizer)
    page = client.get("/console/settings").get_data(as_text=True)
    assert "Only admins can change these settings." in page
    assert "Save settings" not in page
    assert "United States" in page and "09:00–21:00" in page
    # The POST carries a valid CSRF token (from the dashboard's sign-out form).
    response = post_form(client, "/console/settings", GOOD, page="/console/")
    assert response.status_code == 403
    db.session.refresh(org)
    assert org.default_region == "US" and org.name != GOOD["name"]


def test_bad_settings_are_refused_next_to_the_field_and_nothing_is_lost(client, db, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    cases = [
        ({"country": "XX"}, "country", "Choose a country from the list."),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "Choose a time zone from the list."),
        ({"name": "  "}, "name", "The organization needs a name."),
        ({"window_end": "08:00"}, "window_end", "Calling hours must end after they start."),
        ({"help_text": "x" * 321}, "help_text", "The help text can have at most 320 characters."),
    ]
    for change, field, message in cases:
        response = post_form(client, "/console/settings", {**GOOD, **change})
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert f'id="{field}-err">{message}' in html, field
        if field != "name":
            assert 'value="Locataires de Lyon"' in html  # what was typed stays
    db.session.refresh(org)
    assert org.default_region == "US" and org.time_zone == "UTC"


def test_dates_in_the_wizard_follow_the_zone_chosen_in_settings(client, db, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    post_form(client, "/console/settings", {**GOOD, "time_zone": "Asia/Tokyo"})
    op = ops.create_draft(db.session, org.id, admin)
    op.starts_at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    db.session.commit()
    page = client.get(f"/console/operations/{op.id}/steps/basics").get_data(as_text=True)
    assert 'value="2026-03-02T10:00"' in page  # 01:00 UTC is 10:00 in Tokyo


def test_the_cli_import_reads_national_numbers_as_the_organizations_country(
        app, db, factories, tmp_path):
    org, _ = factories.org_with_admin()
    org.default_region = "FR"
    db.session.commit()
    result = app.test_cli_runner().invoke(args=[
        "contacts", "import", str(FIXTURES / "fr_semicolons_cp1252.csv"), "--org", org.slug,
        "--report", str(tmp_path / "report.csv")])
    # 3: imported, with some rows of the file rejected (its bad numbers)
    assert result.exit_code == 3, result.output
    assert "created: 4" in result.output
    numbers = set(db.session.scalars(select(ContactPhone.e164).join(Contact).where(
        Contact.organization_id == org.id)))
    assert "+33612345679" in numbers


def test_the_upload_page_preselects_the_organizations_country(client, db, factories):
    org, admin = factories.org_with_admin()
    org.default_region = "SE"
    db.session.commit()
    login(client, admin)
    html = client.get("/console/contacts/import").get_data(as_text=True)
    response = client.post("/console/contacts/import", data={
        "csrf_token": csrf_token_from(html),
        "file": (io.BytesIO((FIXTURES / "se_tabs_bom.csv").read_bytes()), "se.csv")},
        content_type="multipart/form-data")
    page = wait_checked(client, int(response.location.rstrip("/").split("/")[-1]))
    assert 'name="default_region"' in page and 'value="SE"' in page
