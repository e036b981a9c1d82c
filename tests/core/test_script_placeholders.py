"""Placeholders in a script: which exist, the check on saving, filling a card safely."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

import pytest

from ringround.calling import build_card, render_script
from ringround.extensions import db
from ringround.models import CustomField
from ringround.operations import OperationError, update_script
from ringround.script_placeholders import check_script, placeholders
from tests import factories

FIELDS = {"fields": [
    {"key": "first_name", "visibility": "visible", "highlight": True},
    {"key": "last_name", "visibility": "visible", "highlight": False},
    {"key": "member_no", "visibility": "visible", "highlight": False},
    {"key": "donations", "visibility": "hidden", "highlight": False},
]}


@pytest.fixture
def operation(app):
    org, admin = factories.org_with_admin("Local 42")
    db.session.add_all([CustomField(organization_id=org.id, key="member_no", label="Member no"),
                        CustomField(organization_id=org.id, key="donations",
                                    label="Donations")])
    op = factories.operation(org, owner=admin, field_settings=FIELDS)
    db.session.commit()
    return op


def test_the_editor_offers_names_caller_organization_and_visible_custom_fields(operation):
    names = [p.name for p in placeholders(db.session, operation)]
    assert names == ["first_name", "last_name", "caller_name", "organization", "member_no"]


def test_a_card_fills_every_placeholder_from_exposed_fields_only(operation):
    from ringround.models import Organization

    org = db.session.get(Organization, operation.organization_id)
    person = factories.contact(org, first_name="Maria", last_name="Okafor",
                               custom={"member_no": "M-17", "donations": "SECRET-500"})
    operation.script = ("Hi {first_name} {last_name}, this is {caller_name} from "
                        "{organization}. Member {member_no}. {donations} {unknown}")
    card = build_card(operation, person, 1, "+15550001111", None, caller_name="Sam",
                      organization_name="Local 42")
    assert ("Hi Maria Okafor, this is Sam from Local 42. Member M-17. {donations} {unknown}"
            in card.script_html)
    assert "SECRET-500" not in card.script_html


def test_a_hidden_name_is_never_filled_in(operation):
    from ringround.models import Organization

    operation.field_settings = {"fields": [
        {"key": "first_name", "visibility": "hidden", "highlight": False}]}
    person = factories.contact(db.session.get(Organization, operation.organization_id),
                               first_name="Hiddenname")
    operation.script = "Hello {first_name}!"
    card = build_card(operation, person, 1, "+15550001111", None)
    assert "Hiddenname" not in card.script_html and "Hello !" in card.script_html


@pytest.mark.parametrize("name", [
    "<img src=x onerror=alert(1)>", "**Bold** [x](javascript:alert(1))", "</p><script>x</script>",
    "Zoë & \"Jo\" O'Brien",
])
def test_a_filled_value_adds_no_html_and_no_markdown(name):
    html = render_script("Hi **{first_name}**, see [the site](https://example.org/{first_name})",
                         {"first_name": name})
    assert "<img" not in html and "<script" not in html
    assert html.count("<strong>") == 1 and html.count("<a ") == 1 and "<a href" in html
    # In the link the value is part of the URL (percent-encoded), elsewhere plain text.
    assert re.findall(r'href="([^"]*)"', html) == [
        "https://example.org/" + quote(name, safe="").replace("&", "&amp;")]
    assert "<strong>" + escape(name, quote=False) + "</strong>" in html


def test_a_link_made_of_a_placeholder_cannot_become_javascript():
    html = render_script("[Click]({first_name})", {"first_name": "javascript:alert(1)"})
    assert "javascript:" not in html


def test_an_unknown_placeholder_is_refused_with_the_list(operation):
    with pytest.raises(OperationError) as refused:
        update_script(db.session, operation, "Hi {frist_name}!")
    assert str(refused.value) == (
        "{frist_name} is not a placeholder; available: {first_name}, {last_name}, "
        "{caller_name}, {organization}, {member_no}.")
    assert refused.value.field == "script" and operation.script != "Hi {frist_name}!"


def test_a_hidden_custom_field_is_refused_as_hidden(operation):
    with pytest.raises(Exception, match="hidden from callers"):
        check_script(db.session, operation, "You gave {donations}")
    update_script(db.session, operation, "Hi {first_name}, member {member_no}")
    assert operation.script == "Hi {first_name}, member {member_no}"
