"""A volunteer on a phone where no SMS is sent (the default): open a join link, give a name,
land in the caller app; a returning volunteer on a new phone uses a personal sign-in QR link.
(The SMS-code variant: test_join_urls.py.)"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.browser_fixtures import PHONE, open_page, page_width
from tests.sharing.conftest import PASSWORD, build_world


def _world(live_server):
    with live_server.app.app_context():
        world = build_world()
        return world.token, world.operation.id


def _calling_world(live_server):
    """An active operation with people to call, and a caller join link for it."""
    with live_server.app.app_context():
        from ringround.enrollment import create_join_link
        from ringround.extensions import db
        from ringround.models import Organization
        from tests.caller_fixtures import calling_operation

        operation, _agent, _contacts = calling_operation(n=3)
        org = db.session.get(Organization, operation.organization_id)
        _link, token = create_join_link(db.session, org=org, actor=None, operation=operation)
        db.session.commit()
        return token, operation.id


def test_from_join_link_to_the_first_call_card_in_under_a_minute(phone_page, live_server,
                                                                   caplog):
    token, operation_id = _calling_world(live_server)
    page = phone_page
    started = time.monotonic()
    page.goto(f"/j/{token}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Get out the vote")
    # At most three fields to fill on the first screen (email and language are folded away).
    assert page.locator("form :is(input, select, textarea):visible").count() <= 3
    assert page_width(page) <= 360

    page.get_by_label("Your name").fill("Sam Caller")
    page.get_by_label("Your mobile number (optional)").fill("202 555 0142")
    page.get_by_role("button", name="Join and start calling").click()

    # Straight into the caller app, with the first person to call on screen.
    expect(page).to_have_url(re.compile(rf"/call/{operation_id}$"))
    expect(page.locator("#call form.result-form")).to_be_visible()
    call = page.get_by_role("link", name=re.compile("^Call"))
    expect(call).to_have_attribute("href", re.compile(r"^tel:\+\d{8,15}$"))
    assert time.monotonic() - started < 60
    assert page.console_errors == []
    # The server's request log shows the join path without its token.
    assert "/j/[token]" in caplog.text and token not in caplog.text


def test_a_signed_in_volunteer_joins_another_operation_with_one_tap(phone_page, live_server):
    token, operation_id = _world(live_server)
    page = phone_page
    page.goto(f"/j/{token}")
    page.get_by_label("Your name").fill("Sam Caller")
    page.get_by_role("button", name="Join and start calling").click()
    expect(page).to_have_url(re.compile(rf"/call/{operation_id}$"))

    with live_server.app.app_context():
        from ringround.enrollment import create_join_link
        from ringround.extensions import db
        from ringround.models import Operation, Organization
        from tests import factories

        org = db.session.scalar(db.select(Organization).where(Organization.name ==
                                                              "Tenants Union"))
        second = factories.operation(org, None, name="Second wave")
        _link, second_token = create_join_link(db.session, org=org, actor=None,
                                               operation=second)
        db.session.commit()
        second_id = db.session.get(Operation, second.id).id
    # A reload keeps the session: the next link needs one tap, no form.
    page.goto(f"/j/{second_token}")
    assert page.locator("input:visible").count() == 0
    page.get_by_role("button", name="Join and start calling").click()
    expect(page).to_have_url(re.compile(rf"/call/{second_id}$"))


def test_a_revoked_link_says_so_on_a_phone(phone_page, live_server):
    with live_server.app.app_context():
        from ringround.enrollment import revoke_link
        from ringround.extensions import db

        world = build_world()
        revoke_link(db.session, world.link, world.owner)
        db.session.commit()
        token, owner_name = world.token, world.owner.display_name
    page = phone_page
    page.goto(f"/j/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("This join link was switched off")
    expect(page.get_by_text(f"Ask {owner_name}")).to_be_visible()
    assert page.console_errors == [] or all("410" in e for e in page.console_errors)


def test_a_returning_volunteer_signs_in_on_a_new_phone_with_a_personal_qr_link(
        browser, phone_page, live_server, tmp_path):
    """The owner makes the link on the people page (desktop); the volunteer's new phone opens
    it (as scanning the QR code does), taps once and is calling; the link then no longer works."""
    with live_server.app.app_context():
        world = build_world()
        op_id, name = world.operation.id, world.agent.display_name
        owner_email = world.owner.email
    desk = open_page(browser, live_server, viewport={"width": 1280, "height": 900})
    desk.goto("/login")
    desk.get_by_label("Email").fill(owner_email)
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    desk.goto(f"/operations/{op_id}/people")
    desk.get_by_role("button", name=f"Sign-in link for {name}").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"Sign-in link for {name}")
    qr = desk.get_by_role("img", name="QR code of the sign-in link")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the QR code is drawn under the CSP
    url = desk.locator("#signin-url").input_value()
    assert re.search(r"/in/[A-Za-z0-9_-]{22}$", url)
    desk.screenshot(path=str(tmp_path / "signin-link-desktop.png"))
    assert desk.console_errors == []
    desk.context.close()

    page = phone_page
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in as {name}")
    assert page_width(page) <= 390
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/call/{op_id}$"))
    page.reload()  # stays signed in
    expect(page).to_have_url(re.compile(rf"/call/{op_id}$"))
    assert page.console_errors == []

    again = open_page(browser, live_server, **PHONE)
    again.goto(url)
    expect(again.get_by_role("heading", level=1)).to_have_text(
        "This sign-in link no longer works")
    again.context.close()
