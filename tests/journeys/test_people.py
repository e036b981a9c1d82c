"""The people an organizer brings in: a volunteer on a phone, a returning volunteer, and an
owner who came through an owner link. They share the world the organizer built (`world`)."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import Attempt
from tests.browser.test_caller_app import DUMP_INDEXEDDB
from tests.browser_fixtures import page_width
from tests.journeys import walk
from tests.journeys.conftest import SUMMARY, assert_accessible

JOIN_US = "Can we count on you to join us?"
ARTIFACTS = SUMMARY.parent


def _attempts() -> list[Attempt]:
    db.session.rollback()  # see what the server's threads committed
    return list(db.session.scalars(select(Attempt)))


def _no_hidden_field(page) -> None:
    """E-mail addresses are hidden from callers: none reaches the page."""
    assert "@example.org" not in page.content()


def test_volunteer_on_a_phone_calls_online_and_offline(phone_touch_page, organizer_page,
                                                        world):
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Sam Caller", "617 555 0199")
    expect(page).to_have_url(re.compile(rf"/call/{world['operation_id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(walk.OPERATION)
    assert_accessible(page, "caller app: card")
    _no_hidden_field(page)
    expect(page.get_by_role("link", name=re.compile("^Call"))).to_have_attribute(
        "href", re.compile(r"^tel:\+1\d{10}([,;].*)?$"))
    assert page_width(page) <= 390
    calls = 0

    # Each group of results; the guided questions follow the answers.
    page.get_by_text("Talked to the right person", exact=True).tap()
    expect(page.get_by_role("group", name=JOIN_US)).to_be_visible()
    assert_accessible(page, "caller app: talked, questions")
    walk.record(page, "Talked to the right person", "Talked to them",
                [(JOIN_US, "Yes"), ("Can you bring a friend or neighbour along?", "No")])
    page.get_by_text("No contact", exact=True).tap()
    assert_accessible(page, "caller app: no contact")
    walk.record(page, "No contact", "Busy")
    walk.record(page, "Remove number", "Wrong number")
    calls += 3
    _no_hidden_field(page)

    # Skip one person.
    skipped = walk.card_target(page)
    page.get_by_text("Skip this person").tap()
    page.get_by_role("button", name="Skip and show the next person").tap()
    expect(page.locator("#call form.result-form")).not_to_have_attribute("data-target", skipped)

    # A wrong tap: the last result is changed.
    page.get_by_role("link", name="Change my last result").tap()
    expect(page.get_by_label("Wrong number", exact=True)).to_be_checked()
    assert_accessible(page, "caller app: change last result")
    page.get_by_text("No contact", exact=True).tap()
    page.get_by_label("No answer", exact=True).check()
    page.screenshot(path=str(ARTIFACTS / "journey-change-last-390.png"), full_page=True)
    page.get_by_role("button", name="Save the change").tap()
    expect(page.get_by_text("Your last result is changed.")).to_be_visible()
    page.goto(f"/call/{world['operation_id']}")

    # Take people for offline calling; the network goes; reload; record; it comes back.
    page.get_by_label("People to take for offline calling").fill("3")
    page.get_by_role("button", name="Take them").tap()
    expect(page.locator("#batch-bar")).to_be_visible()
    assert_accessible(page, "caller app: offline batch")
    page.context.set_offline(True)
    page.context.route("**/*", lambda route: route.abort())
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(walk.OPERATION)
    walk.record(page, "No contact", "Voicemail")
    walk.record(page, "Talked to the right person", "Talked to them",
                [(JOIN_US, "No"), ("Is there another way you could help?", "Share the news")])
    calls += 2
    expect(page.locator("#pending")).to_have_text("2 results waiting to be sent")
    assert len(_attempts()) == 3
    _no_hidden_field(page)
    page.context.unroute("**/*")
    page.context.set_offline(False)
    expect(page.locator("#pending")).to_have_text("All results sent", timeout=20_000)

    # The server and the dashboard count each result exactly once.
    rows = _attempts()
    assert len(rows) == calls
    assert db.session.scalar(select(func.count(func.distinct(Attempt.client_id)))) == calls
    assert sorted(a.disposition for a in rows) == sorted(
        ["talked", "talked", "busy", "no_answer", "voicemail"])
    dashboard = organizer_page
    dashboard.goto(world["dashboard"])
    expect(dashboard.locator("#figures")).to_contain_text(f"{calls} calls in total")
    expect(dashboard.locator("#figures")).to_contain_text("Sam Caller")
    assert [e for e in page.console_errors if "net::ERR" not in e] == []


def test_returning_volunteer_gets_a_sign_in_qr_from_the_organizer_and_carries_on(
        browser, live_server, world, organizer_page):
    from tests.journeys.conftest import PHONE_TOUCH

    first = browser.new_context(base_url=live_server.url, **PHONE_TOUCH)
    page = first.new_page()
    walk.join(page, world["agent_url"], "Rosa Returning", "617 555 0177")
    expect(page).to_have_url(re.compile(rf"/call/{world['operation_id']}$"))
    first.close()

    # Days later, on a new phone: no text messages here, so phone sign-in says whom to ask.
    context = browser.new_context(base_url=live_server.url, **PHONE_TOUCH)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("link", name="Volunteers who joined before: sign in with your phone").tap()
    expect(page).to_have_url(re.compile(r"/signin/phone$"))
    assert_accessible(page, "phone sign-in")
    expect(page.get_by_text("personal sign-in link")).to_be_visible()

    # The organizer shows Rosa her personal sign-in QR code from the people page.
    desk = organizer_page
    desk.goto(f"/operations/{world['operation_id']}/people")
    desk.get_by_role("button", name="Sign-in link for Rosa Returning").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Sign-in link for Rosa Returning")
    assert_accessible(desk, "personal sign-in link")
    qr = desk.get_by_role("img", name="QR code of the sign-in link")
    [scanned] = walk.decode_qr(qr.screenshot())
    assert scanned == desk.get_by_label("The link").input_value()

    page.goto(scanned)  # what the phone camera opens
    assert_accessible(page, "sign in with a personal link")
    page.get_by_role("button", name="Sign in").tap()
    expect(page).to_have_url(re.compile(rf"/call/{world['operation_id']}$"))
    expect(page.locator("#call form.result-form")).to_be_visible()
    walk.record(page, "No contact", "Not home")
    context.close()


def test_owner_via_owner_link_sees_the_dashboard_not_the_contacts(browser, live_server,
                                                                   world):
    from tests.journeys.conftest import DESKTOP

    context = browser.new_context(base_url=live_server.url, **DESKTOP)
    page = context.new_page()
    walk.join(page, world["owner_url"], "Bea Owner", "617 555 0188")
    page.goto(world["dashboard"])
    expect(page.get_by_role("heading", level=1)).to_contain_text(walk.OPERATION)
    expect(page.locator("#figures")).to_contain_text(f"{walk.CREATED} targets")
    assert_accessible(page, "operation dashboard (owner)")
    response = page.goto("/console/contacts/")
    assert response.status in (403, 404) or "/login" in page.url
    assert_accessible(page, "contacts refused (owner)")
    assert "Müller" not in page.content() and "Ødegaard" not in page.content()
    context.close()


def _tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_caller_app_works_with_the_keyboard_alone(browser, live_server, world):
    from tests.journeys.conftest import DESKTOP

    context = browser.new_context(base_url=live_server.url, **DESKTOP)
    page = context.new_page()
    walk.join(page, world["agent_url"], "Kim Keyboard", "617 555 0166")
    expect(page.locator("#call form.result-form")).to_be_visible()
    before = walk.card_target(page)
    _tab_to(page, "a.call-button")
    _tab_to(page, "input[name=group]")
    page.keyboard.press("ArrowDown")  # Talked -> No contact
    expect(page.locator("input[name=group][value=no_contact]")).to_be_checked()
    expect(page.get_by_label("Busy", exact=True)).to_be_visible()
    _tab_to(page, "input[name=disposition]")
    page.keyboard.press("ArrowDown")  # Not home -> Busy
    expect(page.get_by_label("Busy", exact=True)).to_be_checked()
    _tab_to(page, "form.result-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#call form.result-form")).not_to_have_attribute("data-target", before)
    expect(page.locator("#pending")).to_have_text("All results sent")
    assert [a.disposition for a in _attempts() if str(a.target_id) == before] == ["busy"]
    context.close()


def test_the_script_greets_the_person_by_first_name(phone_touch_page, world):
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Pat Placeholder", "617 555 0155")
    name = page.locator("#person-name").inner_text()
    script = page.locator(".script-text")
    expect(script).to_contain_text(f"Hi {name.split()[0]},")
    assert "{first_name}" not in script.inner_text()


def test_a_result_code_added_by_the_organizer_reaches_the_caller(phone_touch_page, world):
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Cleo Custom", "617 555 0144")
    target = walk.card_target(page)
    page.get_by_text("Talked to the right person", exact=True).tap()
    custom = page.get_by_label(walk.CUSTOM_CODE, exact=True)
    expect(custom).to_be_visible()
    walk.record(page, "Talked to the right person", walk.CUSTOM_CODE,
                [(JOIN_US, "Yes"), ("Can you bring a friend or neighbour along?", "Yes")])
    expect(page.locator("#pending")).to_have_text("All results sent")
    codes = [a.disposition for a in _attempts() if str(a.target_id) == target]
    assert len(codes) == 1 and codes[0] not in ("talked", "", None)


def test_signing_out_ends_every_way_back_in(phone_touch_page, world):
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Oscar Out", "617 555 0122")
    expect(page.locator("#call form.result-form")).to_be_visible()
    cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").tap()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert_accessible(page, "sign in (after signing out)")
    stored = page.evaluate(DUMP_INDEXEDDB)
    assert all(rows == [] for rows in stored.values())
    page.goto(f"/call/{world['operation_id']}")
    expect(page.locator("#call form.result-form")).to_have_count(0)
    # Not even with the cookies the phone had before signing out.
    page.context.clear_cookies()
    page.context.add_cookies(cookies)
    page.goto(f"/call/{world['operation_id']}")
    expect(page.locator("#call form.result-form")).to_have_count(0)


def test_saving_with_nothing_chosen_says_what_is_missing(phone_touch_page, world):
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Nell Nothing", "617 555 0111")
    target = walk.card_target(page)
    assert not re.search(r"choose|pick", page.locator("fieldset.outcome").inner_text(), re.I)
    page.get_by_role("button", name="Save and call the next person").tap()
    expect(page.locator("fieldset.outcome")).to_contain_text(re.compile(r"choose|pick", re.I))
    assert walk.card_target(page) == target


def test_taking_five_people_for_offline_calling_takes_five(phone_touch_page, world):
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Faye Five", "617 555 0100")
    page.get_by_label("People to take for offline calling").fill("5")
    with page.expect_response(re.compile(r"/api/call/\d+/batch$")) as batch:
        page.get_by_role("button", name="Take them").tap()
    expect(page.locator("#batch-bar")).to_be_visible()
    stored = page.evaluate(DUMP_INDEXEDDB)["batch"]
    on_screen = {walk.card_target(page)}
    taken = {str(item.get("target_id")) for item in stored} | on_screen
    assert len(taken) == 5, (batch.value.status, len(stored))


def test_results_export_reads_back_every_call(phone_touch_page, organizer_page, world):
    """Last in this module: when it failed, the server answered 500 to the next joins
    (#13 item 2)."""
    page = phone_touch_page
    walk.join(page, world["agent_url"], "Eve Export", "617 555 0133")
    walk.record(page, "No contact", "Not home")
    expect(page.locator("#pending")).to_have_text("All results sent")
    organizer = organizer_page
    organizer.goto(world["dashboard"])
    with organizer.expect_download() as info:
        organizer.get_by_role("link", name="Export results (CSV)").click()
    assert info.value.failure() is None
    with open(info.value.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(_attempts())
    assert any("Eve Export" in row.values() for row in rows)
