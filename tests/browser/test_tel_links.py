"""In a real phone-sized Chromium: the Call link of a number with an extension dials it, on
the card served online and on the cards kept on the phone for offline calling."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ringround.extensions import db
from tests.browser.test_caller_app import _card_target, _record, _sign_in
from tests.caller_fixtures import calling_operation


def test_call_links_dial_the_extension_online_and_offline(phone_page, live_server):
    op, agent, contacts = calling_operation(n=3)
    for person in contacts:
        person.phones[0].extension = "744"
    db.session.commit()
    numbers = {person.phones[0].e164 for person in contacts}
    page = phone_page
    _sign_in(page, live_server, agent)
    page.goto(f"/call/{op.id}")
    call = page.get_by_role("link", name=re.compile("^Call"))
    expect(call).to_contain_text("ext. 744")
    href = call.get_attribute("href")
    assert re.fullmatch(r"tel:\+\d{8,15},744", href) and href[4:-4] in numbers

    page.get_by_label("People to take for offline calling").fill("2")
    page.get_by_role("button", name="Take them").click()
    expect(page.locator("#batch-bar")).to_be_visible()
    page.context.set_offline(True)
    page.context.route("**/*", lambda route: route.abort())
    page.reload()  # the card now comes from the phone's own store
    first = _card_target(page)
    _record(page, "No contact", "No answer")
    expect(page.locator("#call form.result-form")).not_to_have_attribute(
        "data-target", str(first))
    offline_href = page.get_by_role("link", name=re.compile("^Call")).get_attribute("href")
    assert re.fullmatch(r"tel:\+\d{8,15},744", offline_href)
    assert offline_href[4:-4] in numbers and offline_href != href
    page.context.unroute("**/*")
    page.context.set_offline(False)
