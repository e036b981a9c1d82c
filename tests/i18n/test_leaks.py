"""No English leaks through a translated Ringround.

Every page of the permission table (tests/test_permissions.py), as each principal allowed to
open it, plus the caller card, the offline page, a text and a voice prompt to a contact, is
rendered in each language; any visible English string of the English catalogue whose
translation differs is a leak. What people typed and names are taken out first.

The real catalogues come from translations/; a locale whose catalogue is absent skips. The
same check runs on throwaway catalogues, to show it passes a complete one and catches an
incomplete one.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import JSON, String, inspect, select

from ringround.extensions import babel, db
from ringround.models import ContactPhone, Organization, User
from sms.inbound import handle_inbound_text
from sms.provider import get_provider
from sms.voice.answering import answer_inbound_call
from tests import test_permissions as permissions
from tests.conftest import make_app
from tests.i18n_support import (
    LOCALES,
    compile_catalogue,
    english_phrases,
    json_strings,
    leaks,
    po_path,
    pseudo_catalogue,
    read_catalogue,
)

CAMPAIGN_NUMBER = "+15005550006"
SHOWN = (permissions.OK, permissions.PUBLIC, permissions.OWN)


def _get_routes() -> list[tuple[str, list[str]]]:
    """Each GET row of the permission table with the principals who may open it."""
    rows = []
    for key, expected in permissions.TABLE.items():
        if key.startswith("GET ") and "<path:filename>" not in key and "/vendor/" not in key:
            rows.append((key, [p for p in permissions.PRINCIPALS if expected[p] in SHOWN]))
    return rows


def _stored_text() -> set[str]:
    """Every string stored in the database (JSON included): what people typed, names, titles,
    questionnaires."""
    values: set[str] = set()
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, JSON))]
            if columns and inspect(db.engine).has_table(table.name):
                for row in connection.execute(select(*columns)):
                    values.update(v for v in json_strings(list(row)) if len(v) > 1)
    return values


def render_everything(folder, locale: str, catalogue) -> tuple[dict[str, str], set[str]]:
    """Every page, card, text and prompt in `locale`, by name; and the stored text."""
    translations = folder / "translations"
    compile_catalogue(catalogue, translations, locale)
    _forget_translations()
    app = make_app(f"sqlite:///{folder / 'test.sqlite'}", folder / "instance",
                   RATELIMIT_ENABLED=False, TELEPHONY_JOBS="sync",
                   BABEL_TRANSLATION_DIRECTORIES=str(translations))
    rendered: dict[str, str] = {}
    try:
        with app.app_context():
            world = permissions._build(app)
            for user in db.session.scalars(select(User)):
                user.language = locale
            for org in db.session.scalars(select(Organization)):
                org.language = locale
            org = db.session.get(Organization, world.ids["org"])
            org.campaign_number = CAMPAIGN_NUMBER
            db.session.commit()
            for principal, user in world.users.items():
                world.cookies[principal], _token = permissions._sign_in(app, user)
            for key, principals in _get_routes():
                for principal in principals:
                    page = _get(world, key, principal, locale)
                    if page is not None:
                        rendered[f"{key} | {principal}"] = page
            rendered.update(_texts_and_prompts(app, world))
            stored = _stored_text()
            db.session.remove()
            db.engine.dispose()
    finally:
        _forget_translations()
    return rendered, stored


def _forget_translations() -> None:
    """Flask-Babel keeps loaded catalogues in one cache for every app of the process."""
    babel.__dict__.pop("domain_instance", None)


def _get(world, key: str, principal: str, locale: str) -> str | None:
    _method, rule, overrides = permissions._split(key)
    client = world.app.test_client()
    client.set_cookie(world.app.config.get("SESSION_COOKIE_NAME", "session"),
                      world.cookies[principal])
    response = client.get(permissions._url(rule, overrides, world.ids),
                          headers={"Accept-Language": f"{locale},en;q=0.5"})
    if response.status_code != 200 or response.mimetype not in (
            "text/html", "application/json", "text/xml", "application/xml"):
        return None
    return response.get_data(as_text=True)


def _texts_and_prompts(app, world) -> dict[str, str]:
    """A reply to HELP and the voice prompt of a call back, to a contact in the language."""
    contact_number = db.session.scalar(select(ContactPhone.e164).where(
        ContactPhone.contact_id == world.ids["contact"]))
    with app.test_request_context():
        replies = handle_inbound_text(
            db.session, sid="SM" + uuid.uuid4().hex, remote=contact_number,
            number=CAMPAIGN_NUMBER, body="HELP", default_number=None)
        steps = answer_inbound_call(db.session, {
            "From": contact_number, "To": CAMPAIGN_NUMBER, "CallSid": "CA" + uuid.uuid4().hex})
        provider = get_provider()
        rendered = {"text: reply to HELP": provider.messaging_reply(replies),
                    "voice: call back": provider.voice_reply(steps)}
    db.session.rollback()
    return rendered


def find_leaks(folder, english, locale: str, catalogue) -> dict[str, list[str]]:
    rendered, stored = render_everything(folder, locale, catalogue)
    assert len(rendered) > 60, f"only {len(rendered)} pages rendered"
    phrases = english_phrases(english, catalogue)
    found = {name: leaks(page, phrases, stored) for name, page in rendered.items()}
    return {name: found for name, found in found.items() if found}


@pytest.mark.parametrize("locale", LOCALES)
def test_no_english_leaks_through(locale, english, tmp_path):
    path = po_path(locale)
    if not path.exists():
        pytest.skip(f"translations/{locale}/LC_MESSAGES/messages.po is not on this branch yet")
    found = find_leaks(tmp_path, english, locale, read_catalogue(path, locale))
    assert not found, _report(locale, found)


def test_a_complete_catalogue_leaves_no_english(english, tmp_path):
    """Every string a page shows is translated when it is rendered (none is fixed in English
    at import time, none is built from pieces outside the catalogue)."""
    found = find_leaks(tmp_path, english, "fr", pseudo_catalogue(english, "fr"))
    assert not found, _report("fr (throwaway)", found)


def test_an_incomplete_catalogue_leaks_and_is_caught(english, tmp_path):
    """Strings left out of a catalogue show in English, on the pages, in the caller app's
    script strings (data-t-*), in a text and in a voice prompt, and each is named."""
    help_reply = "%(org)s: reply STOP to get no more calls or texts, START to undo."
    nobody = ("Thank you for calling %(org)s. Nobody can take your call right now; we will "
              "call you back.")
    offline = "You are offline. Results stay on this phone until the connection is back."
    missing = ["Sign out", "Who to call", offline, help_reply, nobody]
    found = find_leaks(tmp_path, english, "fr", pseudo_catalogue(english, "fr", missing))
    # Shorter strings inside the English ones are English too.
    assert {msgid for page in found.values() for msgid in page} == {
        *missing, "You are offline.", "Thank you"}
    assert "Sign out" in found["GET /console/ | admin"]
    assert set(found["GET /call/<int:operation_id> | agent"]) == {
        "Sign out", "Who to call", offline, "You are offline."}
    assert found["text: reply to HELP"] == [help_reply]
    assert found["voice: call back"] == ["Thank you", nobody]


def _report(locale: str, found: dict[str, list[str]]) -> str:
    lines = [f"{locale}: English on {len(found)} pages"]
    for name, msgids in sorted(found.items())[:40]:
        lines.append(f"  {name}: {msgids[:6]}")
    return "\n".join(lines)
