"""Out-of-order status callbacks (correctly signed, as Twilio sends them) never move a call
leg or a text backwards, so a late `ringing` never leaves a volunteer "busy"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import CallLeg, LegKind, Message
from ringround.status_order import CALL_RANKS, moves_forward
from sms.outbound import send_text
from tests.telephony.conftest import ACCOUNT_SID, CAMPAIGN, post_signed
from tests.telephony.flows import PhoneBank
from tests.telephony.test_bridged_calls import start
from tests.telephony.test_sms import AFTERNOON


def leg_status(client, leg, status, sequence=None):
    params = {"CallSid": leg.sid, "AccountSid": ACCOUNT_SID, "CallStatus": status,
              "From": CAMPAIGN, "To": "+14155550111", "Direction": "outbound-api"}
    if sequence is not None:
        params["SequenceNumber"] = str(sequence)
    response = post_signed(client, f"/telephony/hooks/voice/status/{leg.token}", params)
    assert response.status_code == 204


@pytest.mark.twilio
@pytest.mark.parametrize("numbered", [True, False])
def test_a_late_ringing_after_completed_leaves_the_volunteer_free_for_a_call_back(
        app, client, factories, http_client, numbered):
    bank = PhoneBank(app, factories, network=False)
    leg = start(bank)
    events = [("initiated", 0), ("in-progress", 2), ("completed", 3), ("ringing", 1)]
    for status, sequence in events:
        leg_status(client, leg, status, sequence if numbered else None)
    db.session.expire_all()
    assert db.session.get(CallLeg, leg.id).status == "completed"
    # Maria calls the campaign number back: Sam is free, so the call goes to Sam's phone.
    maria = bank.people[0].phones[0].e164
    response = post_signed(client, "/telephony/hooks/voice", {
        "CallSid": "CA" + "4" * 32, "AccountSid": ACCOUNT_SID, "From": maria, "To": CAMPAIGN,
        "CallStatus": "ringing", "Direction": "inbound"})
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.find("Dial/Number").text == bank.agent.phone_e164
    callback = db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK))
    assert callback.status != "missed"


@pytest.mark.twilio
def test_an_earlier_numbered_callback_is_ignored(app, client, factories, http_client):
    bank = PhoneBank(app, factories, network=False)
    leg = start(bank)
    leg_status(client, leg, "no-answer", 3)
    leg_status(client, leg, "in-progress", 2)
    db.session.expire_all()
    assert db.session.get(CallLeg, leg.id).status == "no-answer"


@pytest.mark.twilio
def test_a_text_delivered_then_reported_sent_stays_delivered(app, client, factories,
                                                             http_client):
    org, _admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    db.session.commit()
    message = send_text(db.session, org, "+16175550123", "Hi", kind="test", now=AFTERNOON)
    db.session.commit()
    for status in ("delivered", "sent", "queued"):
        post_signed(client, "/telephony/hooks/sms/status", {
            "MessageSid": message.sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID,
            "From": CAMPAIGN, "To": "+16175550123"})
    db.session.expire_all()
    assert db.session.scalar(select(Message.status).where(Message.id == message.id)) \
        == "delivered"


def test_ranks_and_sequence_numbers():
    assert moves_forward(CALL_RANKS, "queued", "ringing")
    assert not moves_forward(CALL_RANKS, "completed", "ringing")
    assert not moves_forward(CALL_RANKS, "completed", "failed")  # one final status
    assert not moves_forward(CALL_RANKS, "ringing", "in-progress", 5, 4)
    assert not moves_forward(CALL_RANKS, "ringing", "whatever")
    assert moves_forward(CALL_RANKS, None, "ringing")
