"""An organizer corrects a contact from a phone: a mistyped email and a number of someone
else are refused with what was typed kept, then the corrected form is saved."""

from __future__ import annotations

from playwright.sync_api import expect

from ringround.extensions import db
from ringround.models import CustomField, CustomFieldType
from tests import factories
from tests.browser_fixtures import page_width


def test_an_organizer_corrects_a_contact_on_a_phone(phone_page, live_server):
    page = phone_page
    org, admin = factories.org_with_admin()
    org.default_region = "FR"
    db.session.add(CustomField(organization_id=org.id, key="membre_depuis",
                               label="Membre depuis", type=CustomFieldType.NUMBER))
    person = factories.contact(org, first_name="Elodie", last_name="Martin",
                               phone="+33123456789", country="FR", time_zone="Europe/Paris",
                               custom={"membre_depuis": 2019})
    other = factories.contact(org, first_name="Sem", phone="+33612345678")
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/console/contacts/{person.id}")
    expect(page.get_by_text("Membre depuis")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()

    page.get_by_label("First name").fill("Élodie")
    page.get_by_label("Email").fill("elodie@example")
    page.get_by_label("Membre depuis").fill("2020")
    page.get_by_label("Tags").fill("bénévole, donatrice")
    page.get_by_label("Number", exact=True).fill("06 12 34 56 78")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_text("This is not an email address.")).to_be_visible()
    expect(page.get_by_text("This number belongs to another contact")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Élodie")
    expect(page.get_by_label("Email")).to_have_value("elodie@example")
    expect(page.get_by_label("Membre depuis")).to_have_value("2020")
    expect(page.get_by_label("Number", exact=True)).to_have_value("06 12 34 56 78")
    expect(page.get_by_role("link", name="Open that contact")).to_have_attribute(
        "href", f"/console/contacts/{other.id}")
    assert page_width(page) <= 360

    page.get_by_label("Email").fill("elodie@example.org")
    page.get_by_label("Number", exact=True).fill("06 98 76 54 32")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Élodie Martin")).to_be_visible()
    expect(page.get_by_text("elodie@example.org")).to_be_visible()
    expect(page.get_by_text("+33 6 98 76 54 32")).to_be_visible()
    expect(page.get_by_text("bénévole, donatrice")).to_be_visible()
    assert page_width(page) <= 360
    assert [e for e in page.console_errors if "status of 422" not in e] == []  # the refusal
