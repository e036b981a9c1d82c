"""English that no catalogue could fix (issue #17): every gettext call can be extracted, the
labels people see (fields, enums, reasons, problems) are in the catalogue, words the code
compares are translated, and the real French catalogue reaches those places."""

from __future__ import annotations

import ast
import shlex
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale, get_domain
from jinja2 import nodes
from sqlalchemy import select

from ringround import operations as ops
from ringround.extensions import db
from ringround.models import Contact, OperationState, OrgRole, PhoneLabel, PhoneStatus
from ringround.operation_fields import available_fields
from ringround.queue.reasons import REASONS, reason_label
from tests.conftest import post_form
from tests.factories import login

PROJECT = Path(__file__).resolve().parent.parent
FRENCH_PO = PROJECT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
GETTEXT = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext",
           "lazy_pgettext", "npgettext"}
# How many leading arguments of each call are message text (pgettext's first is its context).
TEXT_ARGS = {"ngettext": 2, "lazy_ngettext": 2, "pgettext": 2, "lazy_pgettext": 2,
             "npgettext": 3}


def _sources(suffix: str) -> list[Path]:
    skip = {".venv", "node_modules", "migrations", "tests", ".git"}
    return [p for p in PROJECT.rglob(f"*{suffix}")
            if not skip.intersection(p.relative_to(PROJECT).parts)]


def _unextractable_python(path: Path) -> list[str]:
    """gettext calls pybabel skips: inside f-strings, or with a msgid that is not a literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            found += [f"{path.name}:{node.lineno} gettext inside an f-string"
                      for value in node.values if isinstance(value, ast.FormattedValue)
                      for sub in ast.walk(value.value)
                      if isinstance(sub, ast.Call) and getattr(sub.func, "id", None) in GETTEXT]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in GETTEXT:
            found += [f"{path.name}:{node.lineno} msgid {ast.unparse(arg)}"
                      for arg in node.args[:TEXT_ARGS.get(node.func.id, 1)]
                      if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str))]
    return found


def test_every_gettext_call_in_python_can_be_extracted():
    found = [problem for path in _sources(".py") for problem in _unextractable_python(path)]
    assert found == []


def test_every_gettext_call_in_templates_can_be_extracted():
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    found = []
    for path in _sources(".html"):
        if "templates" not in path.parts:
            continue
        for call in env.parse(path.read_text(encoding="utf-8")).find_all(nodes.Call):
            name = getattr(call.node, "name", None)
            if name in GETTEXT:
                found += [f"{path.name}:{call.lineno} {name}"
                          for arg in call.args[:TEXT_ARGS.get(name, 1)]
                          if not isinstance(arg, nodes.Const)]
    assert found == []


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The English catalogue as `make messages` extracts it (the Makefile's own command)."""
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    line = next(li for li in makefile.splitlines() if "pybabel extract" in li)
    arguments = shlex.split(line.split("pybabel", 1)[1])
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    arguments[arguments.index("-o") + 1] = str(pot)
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *arguments],
                   cwd=PROJECT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("msgid, context", [
    ("%(outcome)s It is recorded.", None),  # was _() inside an f-string
    ("We need this one. %(question)s", None),
    ("Street", None),  # a field label of the caller card
    ("Choose who to call (a saved list or a filter).", None),  # "Before activating"
    ("city, email, or a custom field", None),  # a placeholder attribute
    ("Usable", None), ("Other phone", None), ("Columns to check", None),  # enum labels
    ("Not callable for another reason", None),  # the dashboard's fallback
    ("erase", "the word typed to confirm erasing a contact"),
    ("Answer", "the answer typed in the trial run (noun)"),
    ("Answer", "button: give the trial run this answer"),
    ("Answer", "button: the simulated phone picks up"),
    (("%(num)s contact matches", "%(num)s contacts match"), None),
    (("%(num)s call today", "%(num)s calls today"), None),
    (("That is in about %(num)d minute.", "That is in about %(num)d minutes."), None),
])
def test_the_catalogue_holds_what_people_see(extracted, msgid, context):
    message = extracted.get(msgid[0] if isinstance(msgid, tuple) else msgid, context=context)
    assert message is not None and message.id == msgid


@pytest.fixture
def app_overrides(tmp_path_factory):
    """The real French catalogue, compiled for this test only."""
    root = tmp_path_factory.mktemp("translations")
    (root / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with FRENCH_PO.open("rb") as po, (root / "fr" / "LC_MESSAGES" / "messages.mo").open(
            "wb") as mo:
        write_mo(mo, read_po(po, locale="fr"))
    return {"BABEL_TRANSLATION_DIRECTORIES": str(root)}


@pytest.fixture
def french(app):
    """Every page in French; `french(msgid)` is the catalogue's translation."""
    with FRENCH_PO.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    babel_config = app.extensions["babel"]
    selector = babel_config.locale_selector
    get_domain().cache.clear()
    babel_config.locale_selector = lambda: "fr"
    yield lambda msgid, context=None: catalogue.get(msgid, context=context).string
    babel_config.locale_selector = selector
    get_domain().cache.clear()


def test_enum_labels_field_labels_and_problems_follow_the_language(app, factories, french):
    org, admin = factories.org_with_admin()
    draft = ops.create_draft(db.session, org.id, admin)
    with app.test_request_context(), force_locale("fr"):
        assert PhoneStatus.WRONG_NUMBER.label == french("Wrong number") != "Wrong number"
        assert PhoneLabel.LANDLINE.label == french("Landline")
        assert OperationState.PAUSED.label == french("Paused")
        assert OrgRole.ORGANIZER.label == french("Organizer")
        assert reason_label("skipped") == french("Skipped by a caller, back soon")
        assert reason_label("not_a_reason_yet") == french("Not callable for another reason")
        labels = {f.key: f.label for f in available_fields(db.session, org.id)}
        assert labels["first_name"] == french("First name") != "First name"
        assert labels["street"] == french("Street")
        problems = ops.readiness_problems(db.session, draft)
        assert french("Choose who to call (a saved list or a filter).") in problems
    with app.test_request_context(), force_locale("en"):  # and English stays English
        assert PhoneStatus.WRONG_NUMBER.label == "Wrong number"
        assert [reason_label(r) for r in REASONS if reason_label(r).islower()] == []


def _exists(contact_id: int) -> bool:
    return db.session.scalar(select(Contact.id).where(Contact.id == contact_id)) is not None


def test_the_contact_page_speaks_french_and_erases_with_the_french_word(client, factories,
                                                                       french):
    org, admin = factories.org_with_admin()
    person = factories.contact(org, first_name="Élodie")
    person.phones[0].status = PhoneStatus.WRONG_NUMBER
    db.session.commit()
    person_id, page = person.id, f"/console/contacts/{person.id}"
    login(client, admin)
    html = client.get(page).get_data(as_text=True)
    word = french("erase", "the word typed to confirm erasing a contact")
    assert word != "erase"
    assert french("marked: %(status)s") % {"status": french("Wrong number")} in html
    assert french("Mobile") in html and ">mobile<" not in html
    assert french("To erase this person, type “%(word)s”") % {"word": word} in html

    response = post_form(client, f"{page}/erase", {"confirm": "effacez"}, page=page)
    assert word in client.get(response.location).get_data(as_text=True)
    assert _exists(person_id)
    post_form(client, f"{page}/erase", {"confirm": f" {word.capitalize()} "}, page=page)
    assert not _exists(person_id)


def test_the_english_word_erases_in_every_language(client, factories, french):
    org, admin = factories.org_with_admin()
    person_id = factories.contact(org).id
    page = f"/console/contacts/{person_id}"
    login(client, admin)
    post_form(client, f"{page}/erase", {"confirm": "nope"}, page=page)
    assert _exists(person_id)
    post_form(client, f"{page}/erase", {"confirm": "erase"}, page=page)
    assert not _exists(person_id)


def test_one_english_answer_has_three_french_words(french):
    words = {french("Answer", context) for context in (
        "the answer typed in the trial run (noun)", "button: give the trial run this answer",
        "button: the simulated phone picks up")}
    assert len(words) == 3


def test_counts_agree_with_their_number(client, factories):
    org, admin = factories.org_with_admin()
    factories.contact(org)
    login(client, admin)
    html = client.get("/console/").get_data(as_text=True)
    assert "<strong>1</strong> contact<" in html and "1</strong> organizer<" in html
    assert "<strong>0</strong> call operations<" in html
    count = client.get("/console/contacts/count").get_data(as_text=True)
    assert count.strip() == '<strong data-count="1">1</strong> contact matches'
