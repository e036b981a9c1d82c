"""A volunteer adds people who want to get involved from the caller app, on a 390x844 phone in
real Chromium under the app's strict CSP: a vCard from an Android phone (2.1) and one from an
iPhone (3.0), a refusal, and the Contact Picker where the browser has one. axe-core checks
the page as the journeys do; screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone, Target
from ringround.people.volunteer_shares import SHARED_TAG
from tests.browser_fixtures import PHONE, open_page
from tests.caller_fixtures import calling_operation, session_cookie
from tests.journeys.conftest import assert_accessible

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "contacts" / "shared"
PHONE_390 = {**PHONE, "viewport": {"width": 390, "height": 844}}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
TITLE = "Add someone who wants to get involved"
# What Chrome on Android offers (navigator.contacts); added before the page's own scripts.
FAKE_PICKER = """Object.defineProperty(navigator, 'contacts', {value: {
  select: (props, opts) => Promise.resolve([{name: ['Noor van Dijk'], tel: ['+31 6 12345678']}])
}});"""


@pytest.fixture(params=[PHONE_390])
def phone(request, browser, live_server):
    op, agent, _ = calling_operation(n=2, source_filter={"tags_any": [SHARED_TAG]})
    page = open_page(browser, live_server, **request.param)
    page.context.add_cookies([{"name": "session", "url": live_server.url,
                               "value": session_cookie(live_server.app, agent)}])
    yield page, op
    page.context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"share-contact-{name}.png"), full_page=True)


def _contact(e164: str) -> Contact | None:
    db.session.rollback()  # see what the server's threads committed
    return db.session.scalar(select(Contact).join(ContactPhone).where(ContactPhone.e164 == e164))


def _share_file(page, name: str, purpose: str) -> None:
    page.get_by_label("Their contact card (.vcf)").set_input_files(str(SHARED / name))
    page.get_by_label("What they want to be contacted about").fill(purpose)
    page.get_by_label("They agreed that").check()
    page.get_by_role("button", name="Add them").click()


def test_volunteer_shares_an_android_then_an_iphone_card(phone, live_server):
    page, op = phone
    page.goto(f"/call/{op.id}")
    _shot(page, "caller-page")
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_role("button", name="Choose from my contacts")).to_be_hidden()
    assert_accessible(page, "caller share contact (phone)")
    _shot(page, "form")

    # Nothing ticked: the browser stops the form before the chosen file is lost.
    page.get_by_label("Their contact card (.vcf)").set_input_files(str(SHARED / "android_2.1.vcf"))
    page.get_by_label("What they want to be contacted about").fill("Food bank shifts")
    page.get_by_role("button", name="Add them").click()
    assert page.get_by_label("They agreed that").evaluate("box => box.validity.valueMissing")
    assert page.get_by_label("Their contact card (.vcf)").evaluate("input => input.files.length")

    # A whole address book: refused, with the reason, and the typed purpose kept.
    _share_file(page, "../iphone_3.0.vcf", "Food bank shifts")
    expect(page.get_by_role("alert")).to_contain_text("That file holds 2 contacts")
    expect(page.get_by_text("Choose their contact card again")).to_be_visible()
    expect(page.get_by_label("What they want to be contacted about")).to_have_value(
        "Food bank shifts")
    assert_accessible(page, "caller share contact, refused (phone)")
    _shot(page, "refused")
    assert _contact("+33612345678") is None

    _share_file(page, "android_2.1.vcf", "Food bank shifts")
    expect(page.get_by_role("heading", name="Thanks, we have Åsa.")).to_be_visible()
    assert_accessible(page, "caller share contact, thanks (phone)")
    _shot(page, "thanks")
    asa = _contact("+46701234567")
    assert (asa.first_name, asa.last_name) == ("Åsa", "Öberg")
    assert asa.custom["consent_purpose"] == "Food bank shifts"
    assert db.session.scalar(select(Target).where(Target.contact_id == asa.id)) is not None

    page.get_by_role("link", name="Add someone else").click()
    _share_file(page, "iphone_3.0.vcf", "Tenants' union meetings")
    expect(page.get_by_role("heading", name="Thanks, we have Jean-Pierre.")).to_be_visible()
    jp = _contact("+33612345678")
    assert sorted(p.e164 for p in jp.phones) == ["+33478123456", "+33612345678"]
    assert [t.name for t in jp.tags] == [SHARED_TAG]

    page.get_by_role("link", name="Back to calling").click()
    expect(page.get_by_role("heading", name=op.name)).to_be_visible()
    # Only the refusal's own status (422); no CSP or script error.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_the_contact_picker_fills_the_typed_fields_where_the_browser_has_it(phone):
    page, op = phone
    page.context.add_init_script(FAKE_PICKER)
    page.goto(f"/call/{op.id}/share")
    page.get_by_role("button", name="Choose from my contacts").click()
    expect(page.get_by_label("First name")).to_have_value("Noor")
    expect(page.get_by_label("Last name")).to_have_value("van Dijk")
    expect(page.get_by_label("Phone number")).to_have_value("+31 6 12345678")
    expect(page.get_by_label("What they want to be contacted about")).to_be_focused()
    _shot(page, "picker")
    page.get_by_label("What they want to be contacted about").fill("Climate march")
    page.get_by_label("They agreed that").check()
    page.get_by_role("button", name="Add them").click()
    expect(page.get_by_role("heading", name="Thanks, we have Noor.")).to_be_visible()
    assert _contact("+31612345678").last_name == "van Dijk"
    assert page.console_errors == []


@pytest.mark.parametrize("phone", [DESKTOP], indirect=True)
def test_the_share_page_on_a_desktop_screen(phone):
    page, op = phone
    page.goto(f"/call/{op.id}")
    page.get_by_role("link", name="Add someone", exact=True).click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    assert_accessible(page, "caller share contact (desktop)")
    _shot(page, "desktop")
    assert page.console_errors == []


# What the phone's share sheet sends to the manifest's share_target (no CSRF token).
SHARE_SHEET_POST = """async ([text, name]) => {
  const form = new FormData();
  form.append('card', new File([text], name, {type: 'text/x-vcard'}));
  const answer = await fetch('/call/share-target', {method: 'POST', body: form});
  return answer.url;
}"""


def test_a_card_from_the_share_sheet_waits_in_the_service_worker_for_the_form(phone):
    page, op = phone
    page.goto(f"/call/{op.id}")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now under the service worker
    assert page.evaluate("!!navigator.serviceWorker.controller")
    card = (SHARED / "android_2.1.vcf").read_text(encoding="utf-8")
    landed = page.evaluate(SHARE_SHEET_POST, [card, "Åsa Öberg.vcf"])
    assert landed.endswith(f"/call/{op.id}/share")  # kept by the worker, not posted on
    assert page.evaluate("caches.has('ringround-shared')")
    page.goto("/call/share")  # where the share sheet opens the app
    assert page.url.endswith(f"/call/{op.id}/share")
    expect(page.get_by_text("The contact card you shared is chosen here.")).to_be_visible()
    card_input = page.get_by_label("Their contact card (.vcf)")
    assert card_input.evaluate("input => input.files[0].name") == "Åsa Öberg.vcf"
    # taken from the cache into the form: nothing of the person stays on the phone
    assert page.evaluate(
        "caches.open('ringround-shared').then(c => c.keys()).then(k => k.length)") == 0
    _shot(page, "share-sheet")
    page.get_by_label("What they want to be contacted about").fill("Food bank shifts")
    page.get_by_label("They agreed that").check()
    page.get_by_role("button", name="Add them").click()
    expect(page.get_by_role("heading", name="Thanks, we have Åsa.")).to_be_visible()
    assert _contact("+46701234567").last_name == "Öberg"
    assert page.console_errors == []
