"""The simulator's developer page and the phone line console page."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import (
    Attempt,
    Consent,
    FollowUpTemplate,
    OperationMember,
    OperationRole,
    OperationState,
    SimText,
)
from ringround.optouts import is_opted_out
from tests.conftest import post_form
from tests.telephony.conftest import CAMPAIGN

SIM = "/telephony/simulator/"


@pytest.fixture
def organizer(client, factories):
    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    org.help_text = "Local 42 phone bank"
    db.session.commit()
    factories.login(client, admin)
    return org, admin


def sign_in_as(client, user):
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def test_simulator_page_is_for_organizers_only(app, client, factories):
    org, admin = factories.org_with_admin()
    volunteer = factories.phone_user()
    sign_in_as(client, volunteer)
    assert client.get(SIM).status_code == 403
    client = app.test_client()
    factories.login(client, admin)
    page = client.get(SIM)
    assert page.status_code == 200 and "Simulated phones" in page.get_data(as_text=True)


@pytest.mark.twilio
def test_simulator_page_does_not_exist_with_twilio(client, factories):
    org, admin = factories.org_with_admin()
    factories.login(client, admin)
    assert client.get(SIM).status_code == 404


def test_a_text_from_a_simulated_phone_goes_through_the_webhook(client, organizer):
    org, _ = organizer
    response = post_form(client, SIM + "texts",
                         {"text-phone": "+16175550999", "text-number": CAMPAIGN,
                          "text-body": " help "},
                         page=SIM)
    assert response.status_code == 302
    replies = db.session.scalars(select(SimText).where(
        SimText.direction == "outbound-api", SimText.to_number == "+16175550999")).all()
    assert [r.body for r in replies] == ["Local 42 phone bank"]
    page = client.get(SIM).get_data(as_text=True)
    assert "Local 42 phone bank" in page


def test_stop_from_a_simulated_phone_opts_out(client, organizer, factories):
    org, _ = organizer
    post_form(client, SIM + "texts", {"text-phone": "+16175550998", "text-number": CAMPAIGN,
                                      "text-body": "STOP"}, page=SIM)
    assert is_opted_out(db.session, org.id, "+16175550998")


def test_carrier_unsubscribed_report_opts_out_of_texts(client, organizer, factories):
    from datetime import UTC, datetime

    from ringround.optouts import may_contact, may_text
    from sms.outbound import send_text

    org, _ = organizer
    message = send_text(db.session, org, "+16175550997", "Hello", kind="test",
                        now=datetime(2026, 11, 23, 20, 0, tzinfo=UTC))
    db.session.commit()
    response = post_form(client, f"{SIM}texts/{message.sid}/unsubscribed", {}, page=SIM)
    assert response.status_code == 302
    # 21610 stops texts only: the person may still be called.
    assert not may_text(db.session, org.id, "+16175550997")
    assert may_contact(db.session, org.id, "+16175550997")


def test_phone_line_page_shows_the_webhooks_to_paste_and_saves_the_number(client, organizer):
    org, _ = organizer
    page = client.get("/telephony/").get_data(as_text=True)
    assert "https://calls.example.org/telephony/hooks/sms" in page
    assert "https://calls.example.org/telephony/hooks/voice" in page
    response = post_form(client, "/telephony/", {"campaign_number": "+14155550100",
                                                  "help_text": "Call 555"})
    assert response.status_code == 302
    db.session.refresh(org)
    assert org.campaign_number == "+14155550100"
    bad = post_form(client, "/telephony/", {"campaign_number": "0617", "help_text": ""})
    assert "international form" in bad.get_data(as_text=True)


def test_agent_sends_a_follow_up_with_one_tap(client, organizer, factories):
    org, admin = organizer
    post_form(client, "/telephony/followups",
              {"name": "Rally", "body": "Rally on Sat: https://ex.org/r", "operation_id": ""},
              page="/telephony/")
    template = db.session.scalar(select(FollowUpTemplate))
    op = factories.operation(org, admin, state=OperationState.ACTIVE,
                             window_start=time(0, 0), window_end=time(23, 59, 59))
    person = factories.contact(org, phone="+16175550996", time_zone="UTC")
    db.session.add(Consent(contact_id=person.id, channel="sms", text="OK", source="import"))
    agent, other = factories.phone_user("Sam"), factories.phone_user("Kim")
    attempt = Attempt(client_id="a-1", operation_id=op.id, contact_id=person.id,
                      agent_id=agent.id)
    db.session.add_all([attempt, OperationMember(operation_id=op.id, user_id=agent.id,
                                                 role=OperationRole.AGENT)])
    db.session.commit()
    url = f"/telephony/attempts/{attempt.id}/followups"
    sign_in_as(client, other)
    assert client.get(url).status_code == 404
    sign_in_as(client, agent)
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page and "Rally" in page  # a full page without htmx
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Rally" in fragment
    # (The operation's window is all day, so quiet hours never block this text.)
    response = post_form(client, f"{url}/{template.id}", {}, page=url,
                         headers={"HX-Request": "true"})
    assert "Sent: Rally" in response.get_data(as_text=True)
    [sent] = db.session.scalars(select(SimText).where(
        SimText.to_number == "+16175550996")).all()
    assert sent.body == "Rally on Sat: https://ex.org/r"


def test_calling_the_campaign_number_from_an_unknown_phone_says_who_we_are(client, organizer):
    post_form(client, SIM + "dial", {"dial-phone": "+16175550995", "dial-number": CAMPAIGN},
              page=SIM)
    from ringround.models import SimCall

    [call] = db.session.scalars(select(SimCall)).all()
    assert call.direction == "inbound" and call.phase == "gather"
    assert "We may have called you from this number." in call.transcript[0]
    page = client.get(SIM).get_data(as_text=True)
    assert "enter your caller code" in page


def test_an_organizer_sees_and_drives_only_their_own_organizations_phones(app, client,
                                                                          organizer, factories):
    from ringround.models import SimCall

    other_org, other_admin = factories.org_with_admin()
    other_org.campaign_number = "+15005550077"
    db.session.commit()
    other = app.test_client()
    factories.login(other, other_admin)
    post_form(other, SIM + "texts", {"text-phone": "+16175550990",
                                     "text-number": "+15005550077", "text-body": "HELP"},
              page=SIM)
    post_form(other, SIM + "dial", {"dial-phone": "+16175550990",
                                    "dial-number": "+15005550077"}, page=SIM)
    mine = client.get(SIM).get_data(as_text=True)
    assert "+16175550990" not in mine
    theirs = db.session.scalar(select(SimCall))
    response = post_form(client, f"{SIM}calls/{theirs.sid}/hangup", {}, page=SIM)
    assert response.status_code == 404
    refused = post_form(client, SIM + "texts", {"text-phone": "+16175550991",
                                                "text-number": "+15005550077",
                                                "text-body": "STOP"}, page=SIM)
    assert refused.status_code == 302
    assert not is_opted_out(db.session, other_org.id, "+16175550991")


def test_pressing_nothing_plays_what_follows_the_prompt(client, organizer):
    from ringround.models import SimCall

    post_form(client, SIM + "dial", {"dial-phone": "+16175550996", "dial-number": CAMPAIGN},
              page=SIM)
    call = db.session.scalar(select(SimCall))
    assert "Press nothing" in client.get(SIM).get_data(as_text=True)
    post_form(client, f"{SIM}calls/{call.sid}/timeout", {}, page=SIM)
    db.session.expire_all()
    call = db.session.scalar(select(SimCall))
    assert call.transcript[-2] == "No key pressed"
    assert call.transcript[-1].startswith("Say: Thank you for calling ")
    assert call.phase == "ended"
