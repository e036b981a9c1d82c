"""In a real phone-sized Chromium: an operation that calls through the campaign line only
shows the line's button and no number, keeps no number on the phone, and says offline that
calls need the line."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Operation, Target, TargetState
from tests.browser.test_caller_app import (
    ARTIFACTS,
    DUMP_INDEXEDDB,
    _card_target,
    _fresh,
    _sign_in,
)
from tests.web.test_caller_line_only import _assert_no_number, _line_only_operation

SHELL_CACHED = """async (url) => {
  const cache = await caches.open('ringround-shell');
  return !!(await cache.match(url));
}"""


def test_the_card_shows_the_campaign_line_and_no_number(phone_page, live_server):
    op, agent, _contacts = _line_only_operation()
    page = phone_page
    _sign_in(page, live_server, agent)
    page.goto(f"/call/{op.id}")
    line = page.get_by_role("button", name="Call through the campaign line")
    expect(line).to_be_visible()
    expect(line).to_be_in_viewport()
    expect(page.locator('a[href^="tel:"]')).to_have_count(0)
    expect(page.locator(".call-number")).to_have_count(0)
    expect(page.get_by_role("button", name="Take them")).to_have_count(0)
    _assert_no_number(page.content())
    target_id = _card_target(page)
    line.click()
    expect(page.locator("#caller-status")).to_have_text(
        "Your phone is ringing: pick up to be connected.")
    assert _card_target(page) == target_id
    _assert_no_number(page.content())
    assert page.console_errors == []


def test_a_batch_kept_from_before_is_dropped_and_offline_says_calls_need_the_line(
        phone_page, live_server):
    """The operation allowed the caller's own phone when the batch was taken, then was set to
    the campaign line only: the phone forgets the numbers it held."""
    op, agent, _contacts = _line_only_operation(own_phone=True)
    page = phone_page
    _sign_in(page, live_server, agent)
    page.goto(f"/call/{op.id}")
    page.get_by_label("People to take for offline calling").fill("3")
    page.get_by_role("button", name="Take them").click()
    expect(page.locator("#batch-bar")).to_be_visible()
    assert len(page.evaluate(DUMP_INDEXEDDB)["batch"]) == 3

    operation = db.session.get(Operation, op.id)
    operation.allow_own_phone = False
    db.session.commit()
    with page.expect_response(lambda r: r.url.endswith("/return")):
        page.reload()
    expect(page.locator("#batch-bar")).to_be_hidden()
    expect(page.get_by_role("button", name="Call through the campaign line")).to_be_visible()
    expect(page.locator('a[href^="tel:"]')).to_have_count(0)
    assert page.evaluate(DUMP_INDEXEDDB)["batch"] == []
    _assert_no_number(page.content())
    # The people taken went back to the list, but for the open card.
    leased = [t for t in _fresh(Target, operation_id=op.id) if t.state == TargetState.LEASED]
    assert len(leased) == 1

    # Offline, the kept shell says calls need the line (and has nothing to dial).
    page.wait_for_function(SHELL_CACHED, arg=f"/call/{op.id}/shell", timeout=10_000)
    page.context.set_offline(True)
    page.context.route("**/*", lambda route: route.abort())
    page.reload()
    expect(page.locator("#call")).to_contain_text(
        "Calls in this operation go through the campaign line: they need a connection.")
    expect(page.locator('a[href^="tel:"]')).to_have_count(0)
    _assert_no_number(page.content())
    page.screenshot(path=str(ARTIFACTS / "caller-360-line-only-offline.png"))
    page.context.unroute("**/*")
    page.context.set_offline(False)
    assert db.session.scalar(select(Operation.allow_own_phone).where(
        Operation.id == op.id)) is False
