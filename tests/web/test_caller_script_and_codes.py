"""The card's script with its placeholders filled, every result code choosable, and a result
saved with nothing chosen (over HTTP, without the phone's JavaScript)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Attempt, CustomField, Organization, Target
from tests.caller_fixtures import HIDDEN_CUSTOM, calling_operation, sign_in
from tests.conftest import csrf_token_from

SCRIPT = ("Hi {first_name}, this is {caller_name} from {organization}. "
          "Your member number is {member_no}.")
CUSTOM_CODES = {"labels": {}, "custom": [
    {"code": "custom_signed", "label": "Signed the petition", "group": "contacted"},
    {"code": "custom_language", "label": "Language barrier", "group": "no_contact"}]}


@pytest.fixture
def calling(app):
    op, agent, contacts = calling_operation(n=3)
    db.session.add_all([
        CustomField(organization_id=op.organization_id, key="member_no", label="Member no"),
        CustomField(organization_id=op.organization_id, key="donations", label="Donations")])
    op.field_settings = {"fields": [
        *op.field_settings["fields"],
        {"key": "member_no", "visibility": "visible", "highlight": False},
        {"key": "donations", "visibility": "hidden", "highlight": False}]}
    op.script = SCRIPT + " {donations}"
    op.dispositions = CUSTOM_CODES
    for i, person in enumerate(contacts):
        person.custom = {**person.custom, "member_no": f"M-{i}"}
    db.session.commit()
    return op, agent, contacts


def _home(client, op) -> str:
    response = client.get(f"/call/{op.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _person(html: str) -> tuple[int, str]:
    target_id = int(re.search(r'data-target="(\d+)"', html).group(1))
    index = db.session.get(Target, target_id).contact_id
    return target_id, index


def _expected_script(contact, org_name: str, caller: str) -> str:
    return (f"Hi {contact.first_name}, this is {caller} from {org_name}. "
            f"Your member number is {contact.custom['member_no']}.")


def test_the_card_fills_every_placeholder_online_and_in_the_offline_batch(client, calling):
    op, agent, contacts = calling
    by_id = {c.id: c for c in contacts}
    org_name = db.session.get(Organization, op.organization_id).name
    sign_in(client, agent)
    html = _home(client, op)
    target_id, contact_id = _person(html)
    assert _expected_script(by_id[contact_id], org_name, agent.display_name) in html
    # A hidden field is never filled in, and nothing is left unfilled but it.
    assert HIDDEN_CUSTOM not in html and "{donations}" in html
    assert "{first_name}" not in html and "{member_no}" not in html
    # Offline: each card of the batch carries its own filled script.
    batch = client.post(f"/api/call/{op.id}/batch", data=json.dumps({"n": 3}),
                        content_type="application/json",
                        headers={"X-CSRFToken": csrf_token_from(html)}).get_json()
    assert len(batch["leases"]) == 3
    for row in batch["leases"]:
        contact = by_id[db.session.get(Target, row["target_id"]).contact_id]
        assert _expected_script(contact, org_name, agent.display_name) in row["card_html"]
        assert HIDDEN_CUSTOM not in row["card_html"]


def test_a_contact_name_cannot_inject_html_into_the_script(client, calling):
    op, agent, contacts = calling
    for person in contacts:
        person.first_name = '<img src=x onerror="alert(1)">'
    db.session.commit()
    sign_in(client, agent)
    html = _home(client, op)
    assert "<img" not in html and "Hi &lt;img src=x" in html


def test_codes_added_by_organizers_are_offered_in_each_group(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    assert 'value="custom_signed"' in html and "Signed the petition" in html
    assert 'value="talked"' in html  # "Talked" now has a choice of its own
    assert 'value="custom_language"' in html
    batch = client.post(f"/api/call/{op.id}/batch", data=json.dumps({"n": 1}),
                        content_type="application/json",
                        headers={"X-CSRFToken": csrf_token_from(html)}).get_json()
    assert 'value="custom_signed"' in batch["leases"][0]["card_html"]


def test_a_custom_talked_code_is_recorded_without_javascript(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    target_id, _ = _person(html)
    response = client.post(f"/call/{op.id}/result", data={
        "csrf_token": csrf_token_from(html), "target_id": target_id,
        "client_id": re.search(r'name="client_id" value="([^"]+)"', html).group(1),
        "group": "contacted", "disposition": "custom_signed", "q.q1": "yes"})
    assert response.status_code == 302
    attempt = db.session.scalar(select(Attempt))
    assert (attempt.disposition, attempt.answers) == ("custom_signed", {"q1": "yes"})


def test_an_operation_with_one_talked_code_needs_no_second_choice(client, app):
    op, agent, _ = calling_operation(n=1)
    sign_in(client, agent)
    html = _home(client, op)
    assert 'data-only="talked"' in html and "details-contacted" not in html
    target_id, _ = _person(html)
    client.post(f"/call/{op.id}/result", data={
        "csrf_token": csrf_token_from(html), "target_id": target_id,
        "client_id": re.search(r'name="client_id" value="([^"]+)"', html).group(1),
        "group": "contacted"})
    assert db.session.scalar(select(Attempt.disposition)) == "talked"


@pytest.mark.parametrize(("form", "message"), [
    ({}, "Choose how the call went."),
    ({"group": "no_contact"}, "Choose what happened."),
    ({"group": "contacted"}, "Choose how the conversation went."),
    # A code of another group does not count.
    ({"group": "remove", "disposition": "busy"}, "Choose why the number should be removed."),
])
def test_saving_with_nothing_chosen_says_what_is_missing_next_to_it(client, calling, form,
                                                                     message):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    target_id, _ = _person(html)
    response = client.post(f"/call/{op.id}/result", data={
        "csrf_token": csrf_token_from(html), "target_id": target_id,
        "client_id": re.search(r'name="client_id" value="([^"]+)"', html).group(1),
        "notes": "Typed before saving", "field.language": "fr", **form})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The message sits in the outcome fieldset, which points to it; nothing typed is lost.
    outcome = page[page.index('<fieldset class="outcome'):page.index('id="outcome-error"')]
    assert 'aria-describedby="outcome-error"' in outcome
    assert re.search(r'id="outcome-error" role="alert">' + re.escape(message) + "<", page)
    assert ">Typed before saving</textarea>" in page and 'value="fr"' in page
    assert int(re.search(r'data-target="(\d+)"', page).group(1)) == target_id
    if form.get("group"):  # the group chosen stays chosen
        assert re.search(r'name="group" value="' + form["group"] + r'"[^>]*checked', page)
    assert db.session.scalar(select(Attempt)) is None


def test_changing_the_last_result_goes_back_to_the_calling_page(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    target_id, _ = _person(html)
    client.post(f"/call/{op.id}/result", data={
        "csrf_token": csrf_token_from(html), "target_id": target_id,
        "client_id": re.search(r'name="client_id" value="([^"]+)"', html).group(1),
        "group": "no_contact", "disposition": "busy"})
    page = client.get(f"/call/{op.id}/last").get_data(as_text=True)
    # Nothing chosen within the group: said next to it, the notes kept, nothing changed.
    refused = client.post(f"/call/{op.id}/last", data={
        "csrf_token": csrf_token_from(page), "group": "remove", "notes": "Oops"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="e-outcome-error" role="alert">Choose why the number should be removed.<' in text
    assert ">Oops</textarea>" in text
    assert db.session.scalar(select(Attempt.disposition)) == "busy"
    # Saved: a See Other to the calling page, so the address bar leaves /last.
    saved = client.post(f"/call/{op.id}/last", data={
        "csrf_token": csrf_token_from(page), "group": "contacted",
        "disposition": "custom_signed"})
    assert saved.status_code == 303 and saved.headers["Location"] == f"/call/{op.id}"
    db.session.expire_all()
    assert db.session.scalar(select(Attempt.disposition)) == "custom_signed"
