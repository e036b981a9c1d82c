"""In a 390x844 Chromium: the card's script with placeholders filled (online and offline),
every result code choosable, "what is missing" said next to the choice, "take 5" taking 5,
changing the last result landing on the calling page, and the wizard keeping the script."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Attempt, Contact, Operation, Organization, Target
from tests import factories
from tests.browser.test_caller_app import DUMP_INDEXEDDB, _fresh, _sign_in
from tests.browser_fixtures import PHONE, open_page
from tests.caller_fixtures import calling_operation

PHONE_390 = {**PHONE, "viewport": {"width": 390, "height": 844}}
CODES = {"labels": {}, "custom": [
    {"code": "custom_signed", "label": "Signed the petition", "group": "contacted"},
    {"code": "custom_language", "label": "Language barrier", "group": "no_contact"}]}


@pytest.fixture
def page(browser, live_server):
    page = open_page(browser, live_server, **PHONE_390)
    yield page
    page.context.close()


@pytest.fixture
def operation(live_server):
    op, agent, contacts = calling_operation(n=8)
    op.script = "Hi {first_name}, this is {caller_name} from {organization}."
    op.dispositions = CODES
    db.session.commit()
    return op, agent, contacts


def _script_for(page, agent) -> str:
    target = db.session.get(Target, int(page.locator("#call form.result-form")
                                        .get_attribute("data-target")))
    contact = db.session.get(Contact, target.contact_id)
    org = db.session.get(Organization, contact.organization_id)
    return f"Hi {contact.first_name}, this is {agent.display_name} from {org.name}."


def _save(page):
    page.get_by_role("button", name="Save and call the next person").click()


def test_script_codes_and_missing_choice_online_then_offline(page, live_server, operation):
    op, agent, _ = operation
    _sign_in(page, live_server, agent)
    page.goto(f"/call/{op.id}")
    expect(page.locator("#call .script-text")).to_have_text(_script_for(page, agent))

    # Nothing chosen: the reason appears next to the choice, on screen, and nothing is sent.
    page.get_by_label("Notes for the organizers").fill("Kept notes")
    _save(page)
    error = page.locator("#call .outcome .outcome-error")
    expect(error).to_have_text("Choose how the call went.")
    expect(error).to_be_in_viewport()
    page.screenshot(path="/tmp/caller-shots/missing-outcome.png")
    # "Talked" now has a choice of codes, the organizers' one among them.
    page.get_by_text("Talked to the right person", exact=True).click()
    _save(page)
    expect(error).to_have_text("Choose how the conversation went.")
    expect(page.get_by_label("Notes for the organizers")).to_have_value("Kept notes")
    assert _fresh(Attempt) == []
    page.get_by_label("Signed the petition", exact=True).check()
    expect(error).to_be_hidden()
    page.screenshot(path="/tmp/caller-shots/custom-code.png", full_page=True)
    first = int(page.locator("#call form.result-form").get_attribute("data-target"))
    _save(page)
    expect(page.locator("#call form.result-form")).not_to_have_attribute(
        "data-target", str(first))
    expect(page.locator("#pending")).to_have_text("All results sent")
    assert [(a.disposition, a.notes) for a in _fresh(Attempt)] == [
        ("custom_signed", "Kept notes")]

    # Take 5 for offline calling: exactly 5 on the phone, the open card one of them.
    page.get_by_label("People to take for offline calling").fill("5")
    page.get_by_role("button", name="Take them").click()
    expect(page.locator("#batch-left")).to_have_text("Offline calling: 5 people left")
    assert len(page.evaluate(DUMP_INDEXEDDB)["batch"]) == 5
    db.session.rollback()
    assert db.session.scalar(select(Target).where(Target.leased_to_id == agent.id)
                             .with_only_columns(db.func.count())) == 5

    # Offline: the batch's cards carry their filled script and every code.
    page.context.set_offline(True)
    page.context.route("**/*", lambda route: route.abort())
    page.reload()
    expect(page.locator("#call .script-text")).to_have_text(_script_for(page, agent))
    page.get_by_text("No contact", exact=True).click()
    _save(page)
    expect(error).to_have_text("Choose what happened.")
    expect(error).to_be_in_viewport()
    page.screenshot(path="/tmp/caller-shots/offline-missing-detail.png")
    page.get_by_label("Language barrier", exact=True).check()
    offline = int(page.locator("#call form.result-form").get_attribute("data-target"))
    _save(page)
    expect(page.locator("#pending")).to_have_text("1 result waiting to be sent")
    page.context.unroute("**/*")
    page.context.set_offline(False)
    expect(page.locator("#pending")).to_have_text("All results sent", timeout=20000)
    assert {a.target_id: a.disposition for a in _fresh(Attempt)}[offline] == "custom_language"
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_changing_the_last_result_lands_on_the_calling_page(page, live_server, operation):
    op, agent, _ = operation
    _sign_in(page, live_server, agent)
    page.goto(f"/call/{op.id}")
    page.get_by_text("No contact", exact=True).click()
    page.get_by_label("Busy", exact=True).check()
    _save(page)
    expect(page.locator("#pending")).to_have_text("All results sent")
    page.get_by_role("link", name="Change my last result").click()
    expect(page).to_have_url(re.compile(r"/last$"))
    # Nothing chosen within the group: said next to it.
    page.get_by_text("Remove number", exact=True).click()
    page.get_by_role("button", name="Save the change").click()
    expect(page.locator(".outcome-error")).to_have_text("Choose why the number should be removed.")
    page.get_by_text("Talked to the right person", exact=True).click()
    page.get_by_label("Signed the petition", exact=True).check()
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Your last result is changed.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/call/{op.id}$"))
    assert [a.disposition for a in _fresh(Attempt)] == ["custom_signed"]


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844},
                                      {"width": 1280, "height": 900}])
def test_the_wizard_keeps_the_script_typed_before_adding_a_question(browser, live_server,
                                                                   viewport):
    org, admin = factories.org_with_admin(name="Tenants Union")
    op = factories.operation(org, owner=admin)
    page = open_page(browser, live_server, viewport=viewport)
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/console/operations/{op.id}/steps/questionnaire")
    # The placeholders are listed beside the editor.
    expect(page.locator(".placeholder-list dt")).to_have_text(
        ["{first_name}", "{last_name}", "{caller_name}", "{organization}"])
    page.get_by_role("textbox", name="Script").fill("Hello {first_name}, I am {caller_name}.")
    page.locator("#new-kind").select_option("yes_no")
    page.locator("#new-text").fill("Will you come?")
    page.get_by_role("button", name="Add question").click()
    expect(page.locator("#question-q1")).to_be_visible()
    script = page.get_by_role("textbox", name="Script")
    expect(script).to_have_value("Hello {first_name}, I am {caller_name}.")
    # A preview of a template keeps it too.
    page.get_by_role("textbox", name="Script").fill("Hello {first_name}!")
    page.get_by_role("link", name="Preview Survey").click()
    expect(page.locator(".preview")).to_be_visible()
    expect(page.get_by_role("textbox", name="Script")).to_have_value("Hello {first_name}!")
    # A typo is flagged next to the script when saving, and the text stays.
    page.get_by_role("textbox", name="Script").fill("Hello {frist_name}!")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#script-err")).to_contain_text(
        "{frist_name} is not a placeholder; available: {first_name}")
    expect(page.get_by_role("textbox", name="Script")).to_have_value("Hello {frist_name}!")
    page.screenshot(path=f"/tmp/caller-shots/wizard-script-{viewport['width']}.png",
                    full_page=True)
    db.session.rollback()
    stored = db.session.get(Operation, op.id)
    assert stored.script == "Hello {first_name}, I am {caller_name}."
    assert [q["text"] for q in stored.questionnaire["questions"]] == ["Will you come?"]
    page.context.close()
