"""Signing out on a phone in real Chromium: no way back in, nothing left on the phone."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.caller_fixtures import calling_join_link

CACHED_TEXTS = """async () => {
  const texts = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      texts.push(request.url + ' ' + await (await cache.match(request)).text());
    }
  }
  return texts;
}"""
QUEUE_IN_OUTBOX = """() => new Promise((ok, ko) => {
  const req = indexedDB.open('ringround-caller');
  req.onsuccess = () => {
    const rows = req.result.transaction('outbox').objectStore('outbox').getAll();
    rows.onsuccess = () => { req.result.close(); ok(rows.result.length); };
  };
  req.onerror = () => ko(req.error);
})"""


def _join(page, token: str) -> None:
    page.goto(f"/j/{token}")
    page.get_by_label("Your name").fill("Sam Caller")
    page.get_by_role("button", name="Join and start calling").click()


def test_signing_out_on_a_phone_leaves_no_way_back_in_and_nothing_on_it(phone_page, live_server):
    with live_server.app.app_context():
        token, op_id = calling_join_link()
    page = phone_page
    _join(page, token)
    expect(page).to_have_url(re.compile(rf"/call/{op_id}$"))
    expect(page.locator("#call form.result-form")).to_be_visible()
    page.evaluate("navigator.serviceWorker.ready")
    page.evaluate("localStorage.setItem('draft', 'Person0 said call back')")

    # A result the server cannot take right now (it is down): it waits in the outbox.
    page.context.route("**/api/call/*/sync", lambda route: route.fulfill(status=503, body="{}"))
    page.get_by_text("No contact", exact=True).click()
    page.get_by_label("Not home", exact=True).check()
    page.get_by_role("button", name="Save and call the next person").click()
    expect(page.locator("#pending")).to_have_text("1 result waiting to be sent")
    assert page.evaluate(QUEUE_IN_OUTBOX) == 1
    assert page.evaluate("caches.keys()")  # the service worker keeps the app's shell

    # Signing out asks first: the result would be lost. "Cancel" keeps everything.
    asked: list[str] = []

    def answer(accept: bool):
        def handle(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_enabled()
    assert asked == ["1 result is not sent yet and will be lost if you sign out now. "
                     "Sign out anyway?"]
    assert page.url.endswith(f"/call/{op_id}") and page.evaluate(QUEUE_IN_OUTBOX) == 1

    page.once("dialog", answer(True))
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    # Nothing is left in this browser: no database, no cache, no worker, no local storage.
    assert page.evaluate("indexedDB.databases()") == []
    assert page.evaluate(CACHED_TEXTS) == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations()") == []
    assert page.evaluate("localStorage.length") == 0
    assert not [c for c in page.context.cookies() if c["name"] == "remember_token"]

    # No way back to the caller app or a card, whatever the address.
    for path in (f"/call/{op_id}", f"/call/{op_id}/card", "/call/", "/"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/(login|signin/phone|setup)(\?.*)?$"))
        assert page.locator("#call form.result-form").count() == 0
    assert page.request.get(f"/api/call/{op_id}/progress").status == 401


def test_the_sign_out_answer_alone_wipes_the_browser(phone_page, live_server):
    """Without the page's script (it may be broken or old), Clear-Site-Data still wipes."""
    with live_server.app.app_context():
        token, op_id = calling_join_link()
    page = phone_page
    _join(page, token)
    expect(page.locator("#call form.result-form")).to_be_visible()
    page.evaluate("navigator.serviceWorker.ready")
    assert "ringround-caller" in [d["name"] for d in page.evaluate("indexedDB.databases()")]
    # form.submit() skips the script's submit handler: only the server's answer acts.
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[data-wipe]').submit()")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.wait_for_function("indexedDB.databases().then(d => d.length === 0)")
    assert page.evaluate("caches.keys()") == []
