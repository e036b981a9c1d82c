"""In a real browser, the wizard's "Results and retries" and "Fields" steps show what is
stored after ticking, unticking, saving, going back and forth, and reloading."""

import pytest
from playwright.sync_api import expect

from ringround.extensions import db
from ringround.models import Operation
from tests import factories
from tests.browser_fixtures import open_page


@pytest.fixture
def desktop_page(browser, live_server):
    page = open_page(browser, live_server, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


def sign_in_and_start(page):
    org, admin = factories.org_with_admin(name="Tenants Union")
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/console/operations/")
    page.get_by_role("button", name="New operation").click()
    expect(page.locator("#step-title")).to_contain_text("1. Mode")
    return db.session.get(Operation, int(page.url.split("/")[-3]))


def step_link(page, name):
    page.get_by_role("navigation", name="Steps").get_by_role("link", name=name).click()
    expect(page.locator("#step-title")).to_contain_text(name)


def retry_box(page, label):
    return page.get_by_role("checkbox", name=f"Try again after {label}", exact=True)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_ticks_survive_save_back_forward_and_reload(request, size):
    page = request.getfixturevalue(f"{size}_page")
    op = sign_in_and_start(page)
    step_link(page, "Results and retries")
    # defaults are stored and shown
    expect(retry_box(page, "Busy")).to_be_checked()
    expect(retry_box(page, "Talked to them")).not_to_be_checked()
    retry_box(page, "Busy").uncheck()
    retry_box(page, "Voicemail").uncheck()
    retry_box(page, "Talked to them").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#step-title")).to_contain_text("7. Exclusions and goals")
    assert page.url.endswith(f"/operations/{op.id}/steps/exclusions")  # the step on screen

    def shows_the_stored_retries():
        expect(page.locator("#step-title")).to_contain_text("6. Results and retries")
        expect(retry_box(page, "Busy")).not_to_be_checked()
        expect(retry_box(page, "Voicemail")).not_to_be_checked()
        expect(retry_box(page, "Talked to them")).to_be_checked()
        expect(retry_box(page, "No answer")).to_be_checked()
        # a whole page (htmx's history restore gets one), not a bare fragment
        expect(page.get_by_role("navigation", name="Main")).to_have_count(1)

    page.go_back()
    shows_the_stored_retries()
    page.reload()
    shows_the_stored_retries()
    page.go_forward()
    expect(page.locator("#step-title")).to_contain_text("7. Exclusions and goals")

    # Fields: untick first name's highlight, highlight the city, save, then come back
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#step-title")).to_contain_text("8. Fields")
    highlight = page.get_by_role("checkbox", name="Highlight First name", exact=True)
    expect(highlight).to_be_checked()  # the stored default
    highlight.uncheck()
    page.get_by_role("checkbox", name="Highlight City", exact=True).check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#step-title")).to_contain_text("9. People")
    page.go_back()
    expect(page.locator("#step-title")).to_contain_text("8. Fields")
    highlight = page.get_by_role("checkbox", name="Highlight First name", exact=True)
    expect(highlight).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Highlight City", exact=True)).to_be_checked()
    step_link(page, "Results and retries")
    shows_the_stored_retries()

    db.session.expire_all()
    stored = db.session.get(Operation, op.id)
    assert "busy" not in stored.retry_rules and "voicemail" not in stored.retry_rules
    assert stored.retry_rules["talked"] == {"retries": 3, "interval_minutes": 90}
    highlighted = {f["key"] for f in stored.field_settings["fields"] if f["highlight"]}
    assert highlighted == {"city"}
    assert page.console_errors == []
