"""Content that is data comes in the organization's language when it is made, and stays the
organization's to edit (throwaway catalogues: every string pseudo-translated)."""

from __future__ import annotations

import json

from sqlalchemy import select

from ringround import operations as ops
from ringround import questionnaires as qn
from ringround.models import Contact, Operation, Organization
from tests.i18n_support import pseudo


def test_a_template_is_written_in_the_organization_language(app, db, factories):
    org, admin = factories.org_with_admin()
    org.language = "sv"
    op = factories.operation(org, admin)
    ops.apply_template(db.session, op, "mobilize")
    db.session.commit()
    stored = json.loads(json.dumps(db.session.get(Operation, op.id).questionnaire))
    first = stored["questions"][0]
    assert first["text"] == pseudo("Can we count on you to join us?", "sv")
    assert [c["label"] for c in first["choices"]] == [pseudo("Yes", "sv"), pseudo("No", "sv")]
    assert [c["value"] for c in first["choices"]] == ["yes", "no"]  # stored values stay
    assert qn.template("survey")["questions"][0]["text"] == (
        "How much does this issue matter to you?")


def test_a_new_sign_up_form_starts_in_the_organization_language(client, db, factories):
    org, admin = factories.org_with_admin()
    org.language = "nl"
    db.session.commit()
    factories.login(client, admin)
    page = client.get("/console/signup-forms/new").get_data(as_text=True)
    assert '<option selected value="nl">Nederlands</option>' in page


def test_the_demo_comes_in_the_language_asked_for(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "--language", "fr", "--contacts", "8"])
    assert result.exit_code == 0, result.output
    org = db.session.scalars(select(Organization)).one()
    operation = db.session.scalars(select(Operation)).one()
    assert org.language == "fr"
    assert operation.name == pseudo("Get out the vote")
    assert operation.script.startswith(pseudo("Hi ") + "{first_name}")
    languages = {c.country: c.language for c in db.session.scalars(select(Contact))}
    assert languages == {"US": None, "GB": None, "FR": "fr", "SE": "sv"}
    refused = app.test_cli_runner().invoke(args=["demo", "--language", "de"])
    assert refused.exit_code != 0 and "de" in refused.output
