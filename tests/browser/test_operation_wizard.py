"""An organizer walks the operation wizard in a real browser (htmx) and activates it."""

import re
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Operation, OperationState, Tag, Target
from tests import factories
from tests.browser_fixtures import page_width


def seed():
    org, admin = factories.org_with_admin(name="Tenants Union")
    organizer = factories.organizer(org, admin)
    member = Tag(organization_id=org.id, name="member")
    db.session.add(member)
    for n in range(3):
        person = factories.contact(org, first_name=f"Member{n}")
        person.tags.append(member)
    factories.contact(org, first_name="Stranger")
    db.session.commit()
    return org, admin, organizer


def next_step(page, title):
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#step-title")).to_contain_text(title)


def test_walk_the_wizard_and_activate(phone_page, live_server):
    page = phone_page
    org, admin, organizer = seed()
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").click()
    page.get_by_role("button", name="New operation").click()

    # 1. Mode
    expect(page.locator("#step-title")).to_contain_text("1. Mode")
    page.get_by_label("Guided: one question at a time").check()
    next_step(page, "2. Who to call")
    assert page.evaluate("typeof window.htmx") == "object"
    assert "/steps/source" in page.url  # htmx pushed the step's URL

    # 2. Source: a filter
    page.get_by_label("With any of these tags").fill("member")
    next_step(page, "3. Basics")

    # 3. Basics: a bad window first (message, input kept), then a good one
    page.get_by_label("Name").fill("Spring turnout")
    page.get_by_label("Starts").fill("2026-03-02T10:00")
    page.get_by_label("Call from").fill("21:00")
    page.get_by_label("Call until").fill("09:00")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("alert")).to_contain_text("The daily window must end after it starts")
    expect(page.get_by_label("Name")).to_have_value("Spring turnout")
    page.get_by_label("Call from").fill("09:00")
    page.get_by_label("Call until").fill("21:00")
    page.get_by_label("Ends").fill("2030-03-02T10:00")
    next_step(page, "4. Call method")

    # 4. Call method
    page.get_by_label(re.compile("The campaign line")).check()
    next_step(page, "5. Script and questions")

    # 5. Questionnaire: preview a template, use it, add a question
    page.get_by_role("link", name="Preview Survey").click()
    expect(page.get_by_text("Preview: Survey")).to_be_visible()
    page.get_by_role("button", name="Use this template").click()
    expect(page.locator("#question-q3")).to_be_visible()
    page.get_by_text("Add a question", exact=True).click()
    adder = page.locator("details", has_text="Add a question")
    adder.get_by_label("Type").select_option("yes_no")
    adder.get_by_label("Question").fill("Can we call you again?")
    adder.get_by_role("button", name="Add question").click()
    expect(page.locator("#question-q4")).to_contain_text("Can we call you again?")
    expect(page.locator("#question-q3")).to_contain_text("then q4")  # linked on append
    # deleting asks first (htmx confirm); dismissing keeps the question
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete q1").click()
    expect(page.locator("#question-q1")).to_be_visible()
    page.get_by_label("Script", exact=True).fill("Hi {first_name}, I'm with the Tenants Union.")
    next_step(page, "6. Results and retries")

    # 6. Recycling: rename a result, retry voicemail, leave a message
    page.get_by_label("Label for “Not home”").fill("Nobody home")
    page.get_by_label("Callers leave a message on voicemail").check()
    page.get_by_label("What to say on voicemail").fill("Hi, it's the Tenants Union.")
    next_step(page, "7. Exclusions and goals")

    # 7. Exclusions and goals
    page.get_by_label("Remove targets who").select_option("tag")
    page.get_by_label("Tag", exact=True).fill("staff")
    page.locator(".new-rule").get_by_label("Reason shown").fill("Staff member")
    page.get_by_label("A target is done when they answer").select_option("q4")
    page.get_by_label("with (empty: any answer)").fill("yes")
    page.locator("fieldset", has_text="Goals").get_by_label("Reason shown").fill("Agreed")
    next_step(page, "8. Fields")

    # 8. Fields: date of birth cannot be made editable
    dob = page.locator("#vis_date_of_birth option")
    expect(dob).to_have_count(2)
    # Every column fits the phone: no hidden scrolling to reach "Highlight" and "Order".
    width = page.viewport_size["width"]
    for control in (page.locator("#order_first_name"),
                    page.get_by_label("Highlight First name", exact=True)):
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    page.screenshot(path=str(Path(__file__).resolve().parents[2] / "test-artifacts"
                             / "wizard-fields-phone.png"), full_page=True)
    page.locator("#vis_city").select_option("editable")
    next_step(page, "9. People")

    # 9. People
    adder = page.get_by_role("region", name="Add someone")
    adder.get_by_label("Person").select_option(value=str(organizer.id))
    adder.get_by_label("Give first targets tagged").fill("spanish")
    adder.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".members")).to_contain_text(organizer.display_name)
    page.get_by_role("link", name="Continue").click()

    # 10. Review and activate
    expect(page.locator("#step-title")).to_contain_text("10. Review")
    expect(page.locator(".review")).to_contain_text("3 contacts match now")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("The operation is live")).to_be_visible()
    expect(page.locator("#figures")).to_contain_text("3")

    op = db.session.scalar(select(Operation).where(Operation.name == "Spring turnout"))
    db.session.refresh(op)
    assert op.state is OperationState.ACTIVE
    assert op.mode.value == "guided" and op.allow_campaign_line
    assert [q["id"] for q in op.questionnaire["questions"]] == ["q1", "q2", "q3", "q4"]
    assert op.dispositions["labels"] == {"not_home": "Nobody home"}
    assert op.voicemail_policy["leave_message"] is True
    assert op.exclusions["rules"] == [{"kind": "tag", "tag": "staff", "label": "Staff member"}]
    assert op.exclusions["done_conditions"][0]["question"] == "q4"
    assert {"key": "city", "visibility": "editable", "highlight": False} in (
        op.field_settings["fields"])
    assert db.session.scalar(select(db.func.count(Target.id)).where(
        Target.operation_id == op.id)) == 3
    assert page_width(page) <= 360
    assert page.console_errors == []
