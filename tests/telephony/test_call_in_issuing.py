"""How a volunteer gets a call-in code: a link from the caller app and "Your operations" when
the operation takes calls by phone, and an organizer or owner issuing one for a member on the
operation's people page (read out once, audited), which then starts a shift."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from ringround.call_in_codes import find_call_in_code
from ringround.extensions import db
from ringround.models import AuditEntry, OperationMember, OperationRole
from tests.conftest import post_form
from tests.telephony.conftest import ACCOUNT_SID, CAMPAIGN, post_signed
from tests.telephony.flows import PhoneBank
from tests.telephony.test_simulator_page import sign_in_as


@pytest.fixture
def bank(app, factories):
    return PhoneBank(app, factories, network=False)


def call_in_link(bank) -> str:
    return f'href="/telephony/operations/{bank.op.id}/call-in"'


def test_the_caller_app_links_to_call_in_when_the_operation_takes_calls_by_phone(
        client, factories, bank):
    second = factories.operation(bank.org, None, name="Door knocking follow-up",
                                 state=bank.op.state, allow_campaign_line=False)
    db.session.add(OperationMember(operation_id=second.id, user_id=bank.agent.id,
                                   role=OperationRole.AGENT))
    sign_in_as(client, bank.agent)
    assert call_in_link(bank) in client.get(f"/call/{bank.op.id}").get_data(as_text=True)
    assert "/call-in" not in client.get(f"/call/{second.id}").get_data(as_text=True)
    for menu in ("/call/", "/my/operations"):  # "Your operations", both of them
        page = client.get(menu).get_data(as_text=True)
        assert page.count(call_in_link(bank)) == 1, menu
        assert f"/telephony/operations/{second.id}/call-in" not in page, menu


def test_an_organizer_issues_a_code_for_a_member_read_out_once_and_audited(
        app, client, factories, bank):
    factories.login(client, bank.admin)
    people = f"/operations/{bank.op.id}/people"
    member = db.session.scalar(select(OperationMember).where(
        OperationMember.operation_id == bank.op.id, OperationMember.user_id == bank.agent.id))
    action = f"{people}/{member.id}/call-in-code"
    assert f'action="{action}"' in client.get(people).get_data(as_text=True)

    page = post_form(client, action, {}, page=people).get_data(as_text=True)
    code = re.search(r'class="callin-code">[^<]*<strong>(\d{6})</strong>', page).group(1)
    assert "Read this code out to" in page and "shown only now" in page
    assert find_call_in_code(db.session, code) == (bank.op.id, bank.agent.id)
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "call_in_code.issued")).all()
    assert (entry.actor_id, entry.subject_id) == (bank.admin.id, bank.agent.id)
    assert entry.details == {"operation_id": bank.op.id}
    assert code not in client.get(people).get_data(as_text=True)  # never shown again

    # The volunteer keys it from any phone: their shift starts.
    response = post_signed(client, "/telephony/hooks/voice/call-in/code?tries=0", {
        "CallSid": "CA" + "7" * 32, "AccountSid": ACCOUNT_SID, "From": "+16175550123",
        "To": CAMPAIGN, "CallStatus": "in-progress", "Digits": code})
    said = ET.fromstring(response.get_data(as_text=True)).find("Say").text
    assert said.startswith("Thank you. Your shift in")


def test_only_those_who_manage_the_operation_issue_codes_and_only_when_it_takes_calls(
        app, client, factories, bank):
    member = db.session.scalar(select(OperationMember).where(
        OperationMember.operation_id == bank.op.id, OperationMember.user_id == bank.agent.id))
    action = f"/operations/{bank.op.id}/people/{member.id}/call-in-code"
    sign_in_as(client, bank.agent)
    own_page = f"/telephony/operations/{bank.op.id}/call-in"
    assert post_form(client, action, {}, page=own_page).status_code == 403
    bank.op.allow_campaign_line = False
    db.session.commit()
    client = app.test_client()
    factories.login(client, bank.admin)
    assert "call-in-code" not in client.get(
        f"/operations/{bank.op.id}/people").get_data(as_text=True)
    refused = post_form(client, action, {}, page=f"/operations/{bank.op.id}/people",
                        follow_redirects=True).get_data(as_text=True)
    assert "This operation does not take calls by phone." in refused
    assert db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "call_in_code.issued")) is None
