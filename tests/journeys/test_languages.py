"""A volunteer in French (and Swedish, and Dutch) on a phone: join, call, record, go offline,
record, come back, everything sent; every page in their language, no English leaking, and a
screenshot of the caller card per language (test-artifacts/caller-card-<locale>.png).

The catalogues come from translations/ (compiled here into a temporary folder); a language
whose catalogue is not there yet skips. `I18N_JOURNEY_PSEUDO=1` walks the journey with
throwaway catalogues instead (every string pseudo-translated), to try the journey itself.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from ringround import operations as ops
from ringround.enrollment import create_join_link, join_path
from ringround.extensions import babel, db
from ringround.models import Attempt, OperationState
from ringround.queue import materialize_targets
from tests import factories
from tests.browser_fixtures import LiveServer, open_page
from tests.caller_fixtures import FIELD_SETTINGS, afternoon_zone
from tests.conftest import make_app
from tests.i18n.test_leaks import _stored_text
from tests.i18n_support import (
    LOCALES,
    compile_catalogue,
    english_phrases,
    extract_english,
    leaks,
    po_path,
    pseudo_catalogue,
    read_catalogue,
)
from tests.journeys.conftest import PHONE_TOUCH, SUMMARY, assert_accessible

ARTIFACTS = SUMMARY.parent
BROWSER_LOCALE = {"fr": "fr-FR", "sv": "sv-SE", "nl": "nl-NL"}


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    return extract_english(tmp_path_factory.mktemp("pot"))


def _catalogue(locale: str, english):
    path = po_path(locale)
    if path.exists():
        return read_catalogue(path, locale)
    if os.environ.get("I18N_JOURNEY_PSEUDO") == "1":
        return pseudo_catalogue(english, locale)
    pytest.skip(f"translations/{locale}/LC_MESSAGES/messages.po is not on this branch yet")


@pytest.fixture
def served(request, tmp_path, english):
    """The app with the language's catalogue, an organization speaking it, an active operation
    with the mobilize questionnaire, and a join link for callers."""
    locale = request.param
    catalogue = _catalogue(locale, english)
    compile_catalogue(catalogue, tmp_path / "translations", locale)
    babel.__dict__.pop("domain_instance", None)  # one cache for every app of the process
    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite'}", tmp_path / "instance",
                   TESTING=False, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        org, admin = factories.org_with_admin("Locataires unis")
        org.language = locale
        zone = afternoon_zone()
        op = factories.operation(
            org, admin, name="Appels du quartier", state=OperationState.DRAFT,
            window_start=time(0, 0), window_end=time(23, 59), field_settings=FIELD_SETTINGS)
        ops.apply_template(db.session, op, "mobilize")
        op.state = OperationState.ACTIVE
        people = [factories.contact(org, first_name=f"Camille{i}", time_zone=zone,
                                    city="Lyon") for i in range(5)]
        materialize_targets(db.session, op, [p.id for p in people])
        _link, token = create_join_link(db.session, org=org, actor=admin, operation=op)
        db.session.commit()
        yield {"server": LiveServer(app, f"http://127.0.0.1:{server.server_port}"),
               "locale": locale, "catalogue": catalogue, "english": english,
               "join": join_path(token), "operation_id": op.id}
        db.session.remove()
        db.engine.dispose()
    server.shutdown()
    thread.join(timeout=5)
    babel.__dict__.pop("domain_instance", None)


def _tr(catalogue, msgid: str) -> str:
    message = catalogue.get(msgid)
    string = message.string if message is not None else ""
    return (string[0] if isinstance(string, (list, tuple)) else string) or msgid


def _no_english(page, world) -> None:
    found = leaks(page.content(), english_phrases(world["english"], world["catalogue"]),
                  _stored_text())
    assert not found, f"English on {page.url}: {found}"


def _record(page, tr, outcome: str, detail: str | None, answers=()) -> None:
    before = page.locator("#call form.result-form").get_attribute("data-target")
    page.get_by_text(tr(outcome), exact=True).tap()
    if detail:  # a group with one result code has none to choose
        page.get_by_label(tr(detail), exact=True).check()
    for question, answer in answers:
        page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name=tr("Save and call the next person")).tap()
    expect(page.locator("#call form.result-form")).not_to_have_attribute("data-target", before)


@pytest.mark.parametrize("served", LOCALES, indirect=True)
def test_a_volunteer_calls_in_their_own_language_online_and_offline(browser, served):
    locale, catalogue = served["locale"], served["catalogue"]

    def tr(msgid: str) -> str:
        return _tr(catalogue, msgid)

    page = open_page(browser, served["server"], locale=BROWSER_LOCALE[locale], **PHONE_TOUCH)
    try:
        # Join: the page follows the phone's language, and so does the account it makes.
        page.goto(served["join"])
        expect(page.locator("html")).to_have_attribute("lang", locale)
        assert_accessible(page, f"join ({locale})")
        _no_english(page, served)
        page.get_by_label(tr("Your name")).fill("Sam")
        page.get_by_label(tr("Your mobile number (optional)")).fill("617 555 0199")
        page.get_by_role("button", name=tr("Join and start calling")).tap()
        expect(page).to_have_url(re.compile(rf"/call/{served['operation_id']}$"))
        expect(page.locator("html")).to_have_attribute("lang", locale)
        assert_accessible(page, f"caller app: card ({locale})")
        _no_english(page, served)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"caller-card-{locale}.png"), full_page=True)

        # Call and record: the questions are the organization's, in its language.
        question = tr("Can we count on you to join us?")
        _record(page, tr, "Talked to the right person", None, [(question, tr("Yes"))])

        # Offline: take people, lose the network, reload, record, come back.
        page.get_by_label(tr("People to take for offline calling")).fill("2")
        page.get_by_role("button", name=tr("Take them")).tap()
        expect(page.locator("#batch-bar")).to_be_visible()
        page.context.set_offline(True)
        page.context.route("**/*", lambda route: route.abort())
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", locale)
        _record(page, tr, "No contact", "Voicemail")
        expect(page.locator("#pending")).to_have_text(tr("1 result waiting to be sent"))
        _no_english(page, served)
        page.context.unroute("**/*")
        page.context.set_offline(False)
        expect(page.locator("#pending")).to_have_text(tr("All results sent"), timeout=20_000)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Attempt.id))) == 2

        assert [e for e in page.console_errors if "net::ERR" not in e] == []

        # Offline with no page kept: the service worker's own answer, in the language too.
        page.evaluate("caches.delete('ringround-shell')")
        page.context.set_offline(True)
        page.goto(f"/call/{served['operation_id']}")
        expect(page.locator("body")).to_have_text(
            tr("You are offline. Open Ringround once with a connection to use it offline."))
        page.context.set_offline(False)
    finally:
        page.context.close()
