"""The wizard's script step: the placeholders beside the editor, an unknown one refused on
saving (what was typed kept), and question actions that never drop the script being typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ringround.models import CustomField, Operation
from tests.conftest import post_form
from tests.factories import login


@pytest.fixture
def op(factories, client, db):
    org, admin = factories.org_with_admin()
    login(client, admin)
    db.session.add_all([CustomField(organization_id=org.id, key="member_no", label="Member no"),
                        CustomField(organization_id=org.id, key="donations",
                                    label="Donations")])
    db.session.commit()
    post_form(client, "/console/operations/new", {}, page="/console/operations/")
    op = db.session.scalars(select(Operation)).one()
    op.field_settings = {"fields": [
        {"key": "first_name", "visibility": "visible", "highlight": True},
        {"key": "member_no", "visibility": "visible", "highlight": False},
        {"key": "donations", "visibility": "hidden", "highlight": False}]}
    db.session.commit()
    return op


def step_url(op) -> str:
    return f"/console/operations/{op.id}/steps/questionnaire"


@pytest.mark.parametrize("htmx", [False, True])
def test_the_script_editor_lists_every_placeholder(client, op, htmx):
    html = client.get(step_url(op), headers={"HX-Request": "true"} if htmx else {}).get_data(
        as_text=True)
    listed = re.findall(r"<dt><code>(\{\w+\})</code></dt>", html)
    assert listed == ["{first_name}", "{last_name}", "{caller_name}", "{organization}",
                      "{member_no}"]
    assert "{donations}" not in html  # hidden from callers: not offered


def test_an_unknown_placeholder_is_flagged_next_to_the_script_and_what_was_typed_kept(
        client, op, db):
    typed = "Hi {frist_name}, I am {caller_name}."
    response = post_form(client, step_url(op), {"script": typed, "action": "next"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    message = ("{frist_name} is not a placeholder; available: {first_name}, {last_name}, "
               "{caller_name}, {organization}, {member_no}.")
    assert f'<small class="error" id="script-err">{message}</small>' in html
    assert f'name="script">\r\n{typed}</textarea>' in html
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == ""
    # A hidden field is named as such.
    html = post_form(client, step_url(op), {"script": "{donations}", "action": "next"}
                     ).get_data(as_text=True)
    assert "{donations} is a field hidden from callers" in html
    # A known one saves and moves on.
    saved = post_form(client, step_url(op), {"script": "Hi {first_name}", "action": "next"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == "Hi {first_name}"


@pytest.mark.parametrize("htmx", [False, True])
def test_adding_a_question_keeps_the_script_typed_before(client, op, db, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    url = f"/console/operations/{op.id}/questions/new"
    response = post_form(client, url, {
        "script": "Hello {first_name}, thanks for picking up!", "new-kind": "yes_no",
        "new-text": "Will you vote?", "new-next_id": ""}, page=step_url(op), headers=headers)
    assert response.status_code in (200, 302)
    db.session.expire_all()
    stored = db.session.get(Operation, op.id)
    assert stored.script == "Hello {first_name}, thanks for picking up!"
    assert [q["text"] for q in stored.questionnaire["questions"]] == ["Will you vote?"]
    page = client.get(step_url(op)).get_data(as_text=True)
    assert "Hello {first_name}, thanks for picking up!</textarea>" in page


def test_every_question_action_carries_the_script(client, op, db):
    """Template, move, delete, a refused question, a preview: the typed script survives."""
    base = f"/console/operations/{op.id}"
    post_form(client, f"{base}/questionnaire/template",
              {"template": "mobilize", "script": "One"}, page=step_url(op))
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == "One"
    post_form(client, f"{base}/questions/q2/up", {"script": "Two"}, page=step_url(op))
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == "Two"
    # A question without text is refused, but the script typed beside it is kept.
    refused = post_form(client, f"{base}/questions/new", {
        "script": "Three", "new-kind": "yes_no", "new-text": "", "new-next_id": ""},
        page=step_url(op), headers={"HX-Request": "true"})
    assert "The question needs text." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == "Three"
    # A script with an unknown placeholder is not saved, but stays in the editor with why.
    kept = post_form(client, f"{base}/questions/q1/down", {"script": "Hi {nope}"},
                     page=step_url(op), headers={"HX-Request": "true"})
    html = kept.get_data(as_text=True)
    assert "Hi {nope}</textarea>" in html and "{nope} is not a placeholder" in html
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == "Three"
    # A preview (htmx GET) shows the script being typed, without saving it.
    preview = client.get(step_url(op) + "?preview=survey&script=Four",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Four</textarea>" in preview
    db.session.expire_all()
    assert db.session.get(Operation, op.id).script == "Three"
