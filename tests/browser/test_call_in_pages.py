"""Call-in in a real browser, on a phone and on a desktop: a volunteer finds "Call in by phone"
in the caller app and gets a code; an organizer issues one for a member on the people page and
reads it out (shown once). Screenshots go to $SCREENSHOTS when set."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ringround.call_in_codes import find_call_in_code
from ringround.extensions import db
from ringround.models import OperationMember, OperationRole, User
from tests import factories
from tests.browser_fixtures import open_page, page_width
from tests.caller_fixtures import calling_operation, session_cookie
from tests.journeys.conftest import assert_accessible

SIZES = {"phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True},
         "desktop": {"viewport": {"width": 1366, "height": 900}}}


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], name), full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_a_volunteer_finds_call_in_in_the_caller_app(browser, live_server, size):
    op, agent, _ = calling_operation(n=2, allow_campaign_line=True)
    page = open_page(browser, live_server, **SIZES[size])
    page.context.add_cookies([{"name": "session", "url": live_server.url,
                               "value": session_cookie(live_server.app, agent)}])
    page.goto(f"/call/{op.id}")
    link = page.get_by_role("link", name="No data? Call in by phone")
    expect(link).to_be_visible()
    shot(page, f"callin-caller-{size}.png")
    link.click()
    expect(page).to_have_url(re.compile(rf"/telephony/operations/{op.id}/call-in$"))
    page.get_by_role("button", name="Get my code").click()
    code = page.locator(".callin-code strong").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    expect(page.get_by_text("Your code works until")).to_be_visible()
    assert page_width(page) <= SIZES[size]["viewport"]["width"]
    shot(page, f"callin-code-{size}.png")
    assert_accessible(page, "call-in page", record=False)
    assert page.console_errors == []
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_an_organizer_reads_a_code_out_for_a_member(browser, live_server, size):
    op, agent, _ = calling_operation(n=2, allow_campaign_line=True)
    admin = db.session.scalar(select(User).join(
        OperationMember, OperationMember.user_id == User.id).where(
        OperationMember.operation_id == op.id, OperationMember.role == OperationRole.OWNER))
    page = open_page(browser, live_server, **SIZES[size])
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/operations/{op.id}/people")
    button = page.get_by_role("button", name=f"Call-in code for {agent.display_name}")
    expect(button).to_be_visible()
    shot(page, f"callin-people-{size}.png")
    button.click()
    expect(page.get_by_role("heading", name=f"Call-in code for {agent.display_name}")
           ).to_be_visible()
    code = page.locator(".callin-code strong").inner_text()
    db.session.rollback()  # see what the server's thread committed
    assert find_call_in_code(db.session, code) == (op.id, agent.id)
    expect(page.get_by_text("It works until")).to_be_visible()
    assert page_width(page) <= SIZES[size]["viewport"]["width"]
    shot(page, f"callin-readout-{size}.png")
    assert_accessible(page, "call-in code read out", record=False)
    page.get_by_role("link", name="Back to people").click()
    expect(page.get_by_role("heading", name="People and sharing")).to_be_visible()
    assert code not in page.content()
    assert page.console_errors == []
    page.context.close()
