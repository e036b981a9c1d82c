"""Call-in mode on the phone network: a silent result prompt ends politely, and callers who
are neither contacts nor volunteers hear who we are and choose a call-back or stop."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from ringround.call_in_codes import issue_call_in_code
from ringround.extensions import db
from ringround.models import CallLeg, LegKind, TargetState
from ringround.optouts import is_opted_out
from tests.telephony.conftest import ACCOUNT_SID, CAMPAIGN, PUBLIC, post_signed
from tests.telephony.flows import PhoneBank
from tests.telephony.test_call_in import ringing_contact, shift_call

STRANGER = "+16175550999"


@pytest.fixture
def bank(app, factories):
    bank = PhoneBank(app, factories, contacts=3)
    bank.code = issue_call_in_code(db.session, bank.op.id, bank.agent.id)
    db.session.commit()
    return bank


def test_a_silent_result_prompt_ends_the_shift_politely_after_three_tries(bank):
    sid = shift_call(bank)
    person, call = ringing_contact(bank)
    bank.net.answer(call.sid)
    bank.net.hang_up(call.sid)
    for _ in range(3):
        assert "Press 1 if you talked" in bank.net.call(sid).transcript[-1]
        bank.net.no_key(sid)
    shift_call_now = bank.net.call(sid)
    assert shift_call_now.phase == "ended"
    assert "ending your shift" in shift_call_now.transcript[-1]
    assert bank.target(person).state is TargetState.WAITING  # back in line, unrecorded


def call_in(client, sid="CA" + "6" * 32, remote=STRANGER):
    response = post_signed(client, "/telephony/hooks/voice", {
        "CallSid": sid, "AccountSid": ACCOUNT_SID, "From": remote, "To": CAMPAIGN,
        "CallStatus": "ringing", "Direction": "inbound"})
    return ET.fromstring(response.get_data(as_text=True))


def choose(client, tries="0", sid="CA" + "6" * 32, remote=STRANGER, **said):
    params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": remote, "To": CAMPAIGN,
              "CallStatus": "in-progress", **said}
    response = post_signed(client, f"/telephony/hooks/voice/caller/choice?tries={tries}", params)
    return ET.fromstring(response.get_data(as_text=True))


@pytest.mark.twilio
def test_an_unknown_caller_hears_who_we_are_not_a_request_for_a_code(app, client, factories,
                                                                      http_client):
    bank = PhoneBank(app, factories, network=False)
    root = call_in(client)
    gather = root.find("Gather")
    prompt = gather.find("Say").text
    assert prompt.startswith(f"You have reached the phone line of {bank.org.name}.")
    assert "press 1" in prompt and "say stop" in prompt
    assert gather.get("input") == "dtmf speech" and gather.get("language") == "en-US"
    assert gather.get("action") == f"{PUBLIC}/telephony/hooks/voice/caller/choice?tries=0"
    assert "six-digit" not in ET.tostring(root, encoding="unicode")


@pytest.mark.twilio
def test_an_unknown_caller_leaves_their_number_for_a_call_back(app, client, factories,
                                                               http_client):
    bank = PhoneBank(app, factories, network=False)
    call_in(client)
    assert "call you back" in choose(client, Digits="1").find("Say").text
    choose(client, Digits="1")  # Twilio retried: still one entry
    [leg] = db.session.scalars(select(CallLeg).where(CallLeg.kind == LegKind.CALLBACK)).all()
    assert leg.status == "missed" and leg.organization_id == bank.org.id
    factories.login(client, bank.admin)
    page = client.get("/telephony/").get_data(as_text=True)
    assert f'href="tel:{STRANGER}"' in page  # grouped for reading, E.164 to dial


@pytest.mark.twilio
@pytest.mark.parametrize("said", [{"Digits": "9"}, {"SpeechResult": "Stop please."},
                                  {"SpeechResult": "Ne m'appelez plus."}])
def test_an_unknown_caller_opts_out_by_key_or_by_voice(app, client, factories, http_client,
                                                       said):
    bank = PhoneBank(app, factories, network=False)
    call_in(client)
    assert "no more calls" in choose(client, **said).find("Say").text
    assert is_opted_out(db.session, bank.org.id, STRANGER)


@pytest.mark.twilio
def test_a_volunteer_from_another_phone_may_still_key_their_code(app, client, factories,
                                                                 http_client):
    bank = PhoneBank(app, factories, network=False)
    code = issue_call_in_code(db.session, bank.op.id, bank.agent.id)
    db.session.commit()
    call_in(client)
    root = choose(client, Digits=code)
    assert "Your shift in" in root.find("Say").text
    assert db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALL_IN))


@pytest.mark.twilio
def test_silence_at_the_menu_ends_the_call_after_two_tries(app, client, factories,
                                                           http_client):
    PhoneBank(app, factories, network=False)
    assert choose(client).find("Gather") is not None
    root = choose(client, tries="1")
    assert [node.tag for node in root] == ["Say", "Hangup"]


@pytest.mark.twilio
def test_a_stranger_on_the_shared_line_of_several_organizations_can_opt_out_of_them_all(
        app, client, factories, http_client):
    """The shared default number, two organizations calling from it, a caller neither knows:
    not "not in service" (it is), but who calls from this line and how to stop them all."""
    first, _ = factories.org_with_admin()
    second, _ = factories.org_with_admin()
    db.session.commit()
    gather = call_in(client).find("Gather")
    prompt = gather.find("Say").text
    assert prompt.startswith("You have reached a phone line that several organizations call "
                             "from.")
    assert "press 9 or say stop" in prompt and "press 1" not in prompt
    assert gather.get("action") == f"{PUBLIC}/telephony/hooks/voice/caller/choice?tries=0"
    assert "press 9" in choose(client, Digits="1").find("Gather").find("Say").text  # no call-back
    said = choose(client, SpeechResult="Stop calling me.").find("Say").text
    assert said == "You will get no more calls or texts from this number. Goodbye."
    assert is_opted_out(db.session, first.id, STRANGER)
    assert is_opted_out(db.session, second.id, STRANGER)
    assert [node.tag for node in choose(client, tries="1")] == ["Say", "Hangup"]


@pytest.mark.twilio
def test_a_number_nobody_calls_from_is_not_in_service(app, client, factories, http_client):
    factories.org_with_admin()
    factories.org_with_admin()
    db.session.commit()
    response = post_signed(client, "/telephony/hooks/voice", {
        "CallSid": "CA" + "7" * 32, "AccountSid": ACCOUNT_SID, "From": STRANGER,
        "To": "+15005550009", "CallStatus": "ringing", "Direction": "inbound"})
    root = ET.fromstring(response.get_data(as_text=True))
    assert [node.tag for node in root] == ["Say", "Hangup"]
    assert root.find("Say").text == "This number is not in service. Goodbye."
