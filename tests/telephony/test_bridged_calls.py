"""Bridged calls through the campaign line, end to end on the simulator (real webhooks,
signed), and the REST requests Twilio would get."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import (
    CallLeg,
    LegKind,
    ProviderEvent,
    SimCall,
    TargetState,
)
from ringround.queue import ResultIn, lease_next, record_result
from sms.voice.bridge import BridgeError, prepare_bridged_call, queue_bridged_call
from tests.telephony.conftest import CAMPAIGN, PUBLIC, post_signed
from tests.telephony.flows import PhoneBank

PHONE_RE = re.compile(r"\+?\d{10,15}")


def start(bank: PhoneBank, client_id: str = "tap-1"):
    lease = lease_next(db.session, bank.op, bank.agent)
    db.session.commit()
    leg = prepare_bridged_call(db.session, bank.op, bank.agent, lease.target_id, client_id)
    queue_bridged_call(db.session, leg)
    db.session.commit()  # the job places the call (at once in tests)
    db.session.refresh(leg)
    return leg


def connect(bank: PhoneBank) -> SimCall:
    """The volunteer picks up; the contact's phone starts ringing."""
    agent_call = bank.ringing(bank.agent.phone_e164)
    assert agent_call.from_number == CAMPAIGN  # the volunteer sees the campaign number
    bank.net.answer(agent_call.sid)
    # Nobody is dialled before the volunteer presses 1 (their voicemail never would).
    # The volunteer hears the organization's name, as they know the campaign.
    whisper = bank.net.call(agent_call.sid).transcript[-1]
    assert whisper == f"Say: {bank.org.name}. Press 1 to call Maria."
    assert bank.ringing(bank.people[0].phones[0].e164) is None
    bank.net.press(agent_call.sid, "1")
    agent_call = bank.net.call(agent_call.sid)
    assert agent_call.transcript[-1] == "Say: Connecting you to Maria."
    contact_call = bank.ringing(bank.people[0].phones[0].e164)
    assert contact_call.from_number == CAMPAIGN  # the contact sees the campaign number too
    return contact_call


@pytest.fixture
def bank(app, factories):
    return PhoneBank(app, factories)


def test_answered_by_a_person_connects_and_the_caller_records_the_result(bank):
    leg = start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid, by="human")
    assert bank.net.call(contact_call.sid).phase == "bridged"
    bank.net.hang_up(contact_call.sid)
    agent_call = bank.net.call(leg.sid)
    assert agent_call.phase == "ended"
    assert "Record the result in the app" in agent_call.transcript[-1]
    [attempt] = bank.attempts()
    assert attempt.provider_status == "completed" and attempt.recorded_at is None
    assert bank.target(bank.people[0]).state is TargetState.LEASED
    outcome = record_result(db.session, ResultIn(
        client_id=attempt.client_id, operation_id=bank.op.id, target_id=attempt.target_id,
        agent_id=bank.agent.id, disposition="talked"))
    db.session.commit()
    assert outcome.target_state == "done"


def test_answered_by_a_machine_leaves_the_message_and_retries_later(app, factories):
    bank = PhoneBank(app, factories, leave_message=True)
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid, by="machine")
    contact_call = bank.net.call(contact_call.sid)
    assert contact_call.answered_by == "machine_end_beep"
    assert "Say: Hello from Local 42, we will call again." in contact_call.transcript
    assert contact_call.phase == "ended"
    [attempt] = bank.attempts()
    assert attempt.disposition == "auto_voicemail"
    target = bank.target(bank.people[0])
    assert target.state is TargetState.WAITING and target.next_eligible_at > attempt.ended_at
    agent_call = bank.calls()[0]
    assert "answering machine" in agent_call.transcript[-1]


def test_machine_with_hang_up_policy_leaves_no_message(bank):
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid, by="machine")
    contact_call = bank.net.call(contact_call.sid)
    assert contact_call.answered_by == "machine_start"
    assert not any(line.startswith("Say:") for line in contact_call.transcript)
    assert bank.attempts()[0].disposition == "auto_voicemail"


@pytest.mark.parametrize(("outcome", "code"), [("busy", "auto_busy"),
                                               ("no-answer", "auto_no_answer"),
                                               ("failed", "auto_failed")])
def test_not_reached_becomes_a_disposition_by_itself_and_is_retried(bank, outcome, code):
    start(bank)
    contact_call = connect(bank)
    bank.net.ring_out(contact_call.sid, outcome)
    [attempt] = bank.attempts()
    assert attempt.disposition == code and attempt.provider_status == outcome
    target = bank.target(bank.people[0])
    assert target.state is TargetState.WAITING and target.attempts == 1
    assert target.next_eligible_at > attempt.ended_at  # the retry interval applies


def test_replayed_callbacks_change_nothing(bank, client):
    start(bank)
    contact_call = connect(bank)
    bank.net.ring_out(contact_call.sid, "busy")
    target = bank.target(bank.people[0])
    before = (target.state, target.attempts, target.next_eligible_at, target.retry_counts)
    events = db.session.scalar(select(func.count(ProviderEvent.id)))
    contact_leg = db.session.scalar(select(CallLeg).where(
        CallLeg.kind == LegKind.BRIDGE_CONTACT))
    params = {"CallSid": contact_call.sid, "CallStatus": "busy", "From": CAMPAIGN,
              "To": bank.people[0].phones[0].e164, "AccountSid": "AC" + "5" * 32}
    for _ in range(2):
        response = post_signed(client, f"/telephony/hooks/voice/status/{contact_leg.token}",
                               params)
        assert response.status_code == 204
    target = bank.target(bank.people[0])
    assert (target.state, target.attempts, target.next_eligible_at,
            target.retry_counts) == before
    assert db.session.scalar(select(func.count(ProviderEvent.id))) == events
    assert len(bank.attempts()) == 1


@pytest.mark.parametrize("key", [None, "2"])
def test_without_a_1_from_the_volunteer_nobody_is_called(bank, key):
    """The volunteer's voicemail picks up (no key), or they press another key."""
    leg = start(bank)
    agent_call = bank.ringing(bank.agent.phone_e164)
    bank.net.answer(agent_call.sid, by="machine" if key is None else "human")
    if key is None:
        bank.net.no_key(agent_call.sid)  # the prompt times out; the Redirect after it runs
    else:
        bank.net.press(agent_call.sid, key)
    agent_call = bank.net.call(leg.sid)
    assert agent_call.transcript[-1] == "Say: Nobody was called. Goodbye."
    assert agent_call.phase == "ended"
    assert [c.to_number for c in bank.calls()] == [bank.agent.phone_e164]
    [attempt] = bank.attempts()
    assert attempt.provider_status == "agent_unconfirmed" and attempt.recorded_at is None
    target = bank.target(bank.people[0])
    assert target.state is TargetState.WAITING and target.attempts == 0


def test_volunteer_not_picking_up_puts_the_person_back_in_line(bank):
    start(bank)
    bank.net.ring_out(bank.ringing(bank.agent.phone_e164).sid, "no-answer")
    [attempt] = bank.attempts()
    assert attempt.provider_status == "agent_no-answer" and attempt.disposition is None
    assert bank.target(bank.people[0]).state is TargetState.WAITING
    assert bank.ringing(bank.people[0].phones[0].e164) is None  # the contact never rang


def test_no_phone_number_ever_appears_in_a_webhook_url(bank):
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid)
    for call in bank.calls():
        for key, value in call.params.items():
            if isinstance(value, str) and value.startswith("http"):
                assert not PHONE_RE.search(value), (key, value)


def test_the_same_tap_twice_places_one_call(bank):
    lease = lease_next(db.session, bank.op, bank.agent)
    db.session.commit()
    first = prepare_bridged_call(db.session, bank.op, bank.agent, lease.target_id, "tap-9")
    queue_bridged_call(db.session, first)
    db.session.commit()
    again = prepare_bridged_call(db.session, bank.op, bank.agent, lease.target_id, "tap-9")
    assert again.id == first.id
    queue_bridged_call(db.session, again)
    db.session.commit()
    assert db.session.scalar(select(func.count(SimCall.id))) == 1


def test_a_target_not_leased_to_the_caller_cannot_be_bridged(bank, factories):
    other = factories.phone_user("Kim")
    lease = lease_next(db.session, bank.op, bank.agent)
    db.session.commit()
    with pytest.raises(BridgeError):
        prepare_bridged_call(db.session, bank.op, other, lease.target_id, "tap-x")


def test_an_opted_out_person_is_not_bridged(bank, client):
    from ringround.optouts import opt_out

    lease = lease_next(db.session, bank.op, bank.agent)
    opt_out(db.session, bank.org.id, bank.people[0].phones[0].e164, "test")
    db.session.commit()
    with pytest.raises(BridgeError):
        prepare_bridged_call(db.session, bank.op, bank.agent, lease.target_id, "tap-y")


def test_a_contact_calling_back_reaches_the_last_caller_masked(bank):
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid)
    bank.net.hang_up(contact_call.sid)
    maria = bank.people[0].phones[0].e164
    bank.net.dial_in(maria, CAMPAIGN)
    ring = bank.ringing(bank.agent.phone_e164)
    assert ring is not None and ring.from_number == CAMPAIGN  # Maria's number stays hidden
    bank.net.answer(ring.sid)
    assert "Say: A call back from Maria. Press 1 to take it." in bank.net.call(ring.sid).transcript
    bank.net.press(ring.sid, "1")
    assert bank.net.call(ring.sid).phase == "bridged"
    bank.net.hang_up(ring.sid)
    callback = db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK))
    assert callback.status == "completed"


def _call_back_reaches_the_volunteer(bank) -> SimCall:
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid)
    bank.net.hang_up(contact_call.sid)
    bank.net.dial_in(bank.people[0].phones[0].e164, CAMPAIGN)
    return bank.ringing(bank.agent.phone_e164)


def test_a_call_back_taken_by_the_volunteers_voicemail_goes_on_the_missed_list(bank):
    ring = _call_back_reaches_the_volunteer(bank)
    bank.net.answer(ring.sid, by="machine")  # the volunteer's voicemail presses nothing
    bank.net.no_key(ring.sid)
    callback = db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK))
    assert callback.status == "missed"
    caller = db.session.scalar(select(SimCall).where(SimCall.direction == "inbound"))
    assert "we will call you back" in " ".join(caller.transcript)


@pytest.mark.twilio
def test_twilio_call_back_whisper_asks_for_1_and_only_then_counts_it_taken(
        app, client, factories, http_client):
    bank = PhoneBank(app, factories, network=False)
    leg = start(bank)
    maria = bank.people[0].phones[0].e164
    params = {"CallSid": "CA" + "8" * 32, "From": maria, "To": CAMPAIGN,
              "AccountSid": "AC" + "5" * 32, "CallStatus": "ringing"}
    db.session.get(CallLeg, leg.id).status = "completed"
    db.session.commit()
    post_signed(client, "/telephony/hooks/voice", params)
    callback = db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK))
    base = f"/telephony/hooks/voice/callback/{callback.token}"
    whisper = ET.fromstring(post_signed(client, f"{base}/whisper", {
        "CallSid": "CA" + "9" * 32, "CallStatus": "in-progress"}).get_data(as_text=True))
    assert [node.tag for node in whisper] == ["Gather", "Hangup"]
    assert whisper[0].get("action") == f"{PUBLIC}{base}/accept"
    # The volunteer's voicemail answered and the whisper ended without a key: not taken.
    post_signed(client, f"{base}/done", {"CallSid": "CA" + "8" * 32,
                                         "DialCallStatus": "completed"})
    db.session.expire_all()
    assert db.session.get(CallLeg, callback.id).status == "missed"


def test_a_call_back_when_the_caller_is_busy_goes_on_the_missed_list(bank, client, factories):
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid)
    # Sam is still on the bridged call when Maria calls the campaign number back.
    maria = bank.people[0].phones[0].e164
    call_sid = bank.net.dial_in(maria, CAMPAIGN)
    assert "we will call you back" in bank.net.call(call_sid).transcript[0]
    missed = db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK))
    assert missed.status == "missed" and missed.contact_id == bank.people[0].id
    factories.login(client, bank.admin)
    page = client.get("/telephony/").get_data(as_text=True)
    # Whom to call back: their name, linked to their page, and whom they were trying to reach.
    person = bank.people[0]
    name = " ".join(part for part in (person.first_name, person.last_name) if part)
    assert f'<a href="/console/contacts/{person.id}">{name}</a>' in page
    assert f"tried to reach {bank.agent.display_name}" in page and bank.op.name in page
    assert client.get(f"/console/contacts/{person.id}").status_code == 200
    # The operation's dashboard shows it to its owners too.
    dashboard = client.get(f"/console/operations/{bank.op.id}").get_data(as_text=True)
    assert "Missed call backs" in dashboard and bank.people[0].first_name in dashboard
    from ringround.people.erasure import erase_contact

    erase_contact(db.session, person, bank.admin.id)
    db.session.commit()
    page = client.get("/telephony/").get_data(as_text=True)
    assert "A person since erased" in page and "Dealt with" in page


def test_a_retried_call_back_webhook_keeps_one_record(bank, client):
    start(bank)
    contact_call = connect(bank)
    bank.net.answer(contact_call.sid)
    maria = bank.people[0].phones[0].e164
    params = {"CallSid": "CA" + "7" * 32, "From": maria, "To": CAMPAIGN,
              "AccountSid": "AC" + "5" * 32, "CallStatus": "ringing"}
    answers = [post_signed(client, "/telephony/hooks/voice", params) for _ in range(2)]
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].get_data() == answers[1].get_data()
    legs = db.session.scalars(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK)).all()
    assert len(legs) == 1 and legs[0].status == "missed"


@pytest.mark.twilio
def test_twilio_gets_the_exact_call_request_and_the_answer_twiml(app, client, factories,
                                                                 http_client):
    bank = PhoneBank(app, factories, network=False)
    leg = start(bank)
    [request] = http_client.requests
    assert request["uri"].endswith("/Calls.json")
    data = request["data"]
    assert data["To"] == bank.agent.phone_e164 and data["From"] == CAMPAIGN
    assert data["Url"] == f"{PUBLIC}/telephony/hooks/voice/bridge/{leg.token}/answer"
    assert data["StatusCallback"] == f"{PUBLIC}/telephony/hooks/voice/status/{leg.token}"
    assert data["Timeout"] == 25 and "MachineDetection" not in data
    response = post_signed(client, f"/telephony/hooks/voice/bridge/{leg.token}/answer", {
        "CallSid": leg.sid, "CallStatus": "in-progress", "From": CAMPAIGN,
        "To": bank.agent.phone_e164})
    root = ET.fromstring(response.get_data(as_text=True))
    assert [node.tag for node in root] == ["Gather", "Redirect"]
    confirm = f"{PUBLIC}/telephony/hooks/voice/bridge/{leg.token}/confirm"
    assert root[0].get("action") == confirm and root[0].get("numDigits") == "1"
    assert root[0].find("Say").text == f"{bank.org.name}. Press 1 to call Maria."
    assert root[1].text == confirm
    response = post_signed(client, f"/telephony/hooks/voice/bridge/{leg.token}/confirm", {
        "CallSid": leg.sid, "CallStatus": "in-progress", "Digits": "1"})
    root = ET.fromstring(response.get_data(as_text=True))
    assert [node.tag for node in root] == ["Say", "Dial"]
    dial = root[1]
    contact_leg = db.session.scalar(select(CallLeg).where(
        CallLeg.kind == LegKind.BRIDGE_CONTACT))
    assert dial.get("callerId") == CAMPAIGN
    assert dial.get("action") == f"{PUBLIC}/telephony/hooks/voice/bridge/{leg.token}/done"
    number = dial.find("Number")
    assert number.text == bank.people[0].phones[0].e164
    assert number.get("machineDetection") == "Enable"
    assert number.get("amdStatusCallback") == (
        f"{PUBLIC}/telephony/hooks/voice/amd/{contact_leg.token}")
    assert number.get("statusCallback") == (
        f"{PUBLIC}/telephony/hooks/voice/status/{contact_leg.token}")
    assert number.get("url") == f"{PUBLIC}/telephony/hooks/voice/bridge/{contact_leg.token}/screen"
    # No REST request was made while answering the webhook.
    assert len(http_client.requests) == 1
