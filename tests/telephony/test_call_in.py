"""Call-in mode on the simulator: a volunteer's shift of three people recorded by keypad."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ringround.call_in_codes import issue_call_in_code
from ringround.extensions import db
from ringround.models import CallLeg, LegKind, TargetState
from tests.telephony.conftest import CAMPAIGN
from tests.telephony.flows import PhoneBank


@pytest.fixture
def bank(app, factories):
    bank = PhoneBank(app, factories, contacts=3)
    bank.code = issue_call_in_code(db.session, bank.op.id, bank.agent.id)
    db.session.commit()
    return bank


def shift_call(bank):
    sid = bank.net.dial_in(bank.agent.phone_e164, CAMPAIGN)
    assert "six-digit caller code" in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, bank.code)
    return sid


def ringing_contact(bank):
    for person in bank.people:
        call = bank.ringing(person.phones[0].e164)
        if call is not None:
            return person, call
    raise AssertionError("nobody is ringing")


def test_a_shift_of_three_people_recorded_by_keypad(bank):
    sid = shift_call(bank)
    # 1st person: talked (1), then the yes/no question by keypad (1 = yes).
    first, call = ringing_contact(bank)
    bank.net.answer(call.sid)
    bank.net.hang_up(call.sid)
    assert "Press 1 if you talked" in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, "1")
    assert "Will you come to the rally?" in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, "1")
    assert "Saved." in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, "#")
    # 2nd person: busy; recorded by itself.
    second, call = ringing_contact(bank)
    assert second.id != first.id
    bank.net.ring_out(call.sid, "busy")
    assert "The line was busy." in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, "#")
    # 3rd person: answered, the volunteer leaves the call with *, then 3 (remove number).
    third, call = ringing_contact(bank)
    assert third.id not in (first.id, second.id)
    bank.net.answer(call.sid)
    bank.net.press(sid, "*")
    bank.net.press(sid, "3")
    # Remove has several codes: the second key chooses one (1 = wrong number).
    assert "Press 1 for Wrong number." in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, "1")
    bank.net.press(sid, "#")
    # Nobody left (the busy one waits for its retry): the shift ends.
    shift = bank.net.call(sid)
    assert shift.phase == "ended"
    assert "nobody left to call" in shift.transcript[-1]

    by_contact = {a.contact_id: a for a in bank.attempts()}
    assert by_contact[first.id].disposition == "talked"
    assert by_contact[first.id].answers == {"q1": "yes"}
    assert by_contact[second.id].disposition == "auto_busy"
    assert by_contact[third.id].disposition == "wrong_number"
    assert {a.method.value for a in by_contact.values()} == {"call_in"}
    assert bank.target(first).state is TargetState.DONE
    assert bank.target(second).state is TargetState.WAITING
    assert bank.target(third).state is TargetState.REMOVED


def test_star_ends_the_shift_and_a_wrong_code_is_refused(bank):
    sid = bank.net.dial_in(bank.agent.phone_e164, CAMPAIGN)
    bank.net.press(sid, "000000" if bank.code != "000000" else "111111")
    assert "That code is not valid." in " ".join(bank.net.call(sid).transcript)
    bank.net.press(sid, bank.code)
    _, call = ringing_contact(bank)
    bank.net.ring_out(call.sid, "no-answer")
    bank.net.press(sid, "*")
    shift = bank.net.call(sid)
    assert shift.phase == "ended" and "Goodbye" in shift.transcript[-1]
    legs = db.session.scalars(select(CallLeg).where(CallLeg.kind == LegKind.CALL_IN)).all()
    assert [leg.status for leg in legs] == ["completed"]


def test_a_call_in_code_is_stored_only_as_a_keyed_hash(bank):
    from ringround.models import CallInCode

    row = db.session.scalar(select(CallInCode))
    assert bank.code not in row.code_hmac and len(row.code_hmac) == 64


def test_a_retried_code_request_does_not_start_a_second_shift(bank, client):
    from tests.telephony.conftest import post_signed

    params = {"CallSid": "CA" + "4" * 32, "Digits": bank.code, "From": bank.agent.phone_e164,
              "To": CAMPAIGN, "CallStatus": "in-progress"}
    first = post_signed(client, "/telephony/hooks/voice/call-in/code?tries=0", params)
    again = post_signed(client, "/telephony/hooks/voice/call-in/code?tries=0", params)
    assert first.status_code == again.status_code == 200
    assert "<Redirect" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CallLeg.id)).where(
        CallLeg.kind == LegKind.CALL_IN)) == 1


def test_the_call_in_page_issues_a_code_once_to_members_only(bank, client, factories):
    from ringround.call_in_codes import find_call_in_code
    from tests.conftest import post_form
    from tests.telephony.test_simulator_page import sign_in_as

    url = f"/telephony/operations/{bank.op.id}/call-in"
    sign_in_as(client, factories.phone_user("Outsider"))
    assert client.get(url).status_code == 404
    sign_in_as(client, bank.agent)
    page = client.get(url).get_data(as_text=True)
    # The fixture issued one: the page says until when it works, never the code.
    assert CAMPAIGN in page and "Get a new code" in page and "Your code works until" in page
    assert bank.code not in page
    issued = post_form(client, url, {}).get_data(as_text=True)
    code = re.search(r"Your code: <strong>(\d{6})</strong>", issued).group(1)
    assert find_call_in_code(db.session, code) == (bank.op.id, bank.agent.id)
    assert find_call_in_code(db.session, bank.code) is None  # the new code replaced it
    assert code not in client.get(url).get_data(as_text=True)  # shown once


def test_after_a_shift_the_volunteer_takes_call_backs_again(bank):
    from ringround.models import SimCall

    sid = shift_call(bank)
    _, call = ringing_contact(bank)
    bank.net.answer(call.sid)
    bank.net.hang_up(call.sid)
    bank.net.press(sid, "2")
    bank.net.press(sid, "1")  # no contact: not home
    bank.net.press(sid, "*")
    shift = db.session.scalar(select(CallLeg).where(CallLeg.kind == LegKind.CALL_IN))
    assert shift.status == "completed"  # the inbound call's status callback
    # The person they called calls back: it rings the volunteer (masked).
    bank.net.dial_in(call.to_number, CAMPAIGN)
    ring = db.session.scalar(select(SimCall).where(
        SimCall.to_number == bank.agent.phone_e164, SimCall.phase == "ringing"))
    assert ring is not None and ring.from_number == CAMPAIGN


def test_every_code_of_a_group_is_chosen_by_a_second_key(bank):
    """Codes organizers add (here "Signed the petition" under talked, "Language barrier"
    under no contact) are offered by keypad after the group's key."""
    bank.op.dispositions = {"labels": {}, "custom": [
        {"code": "custom_signed", "label": "Signed the petition", "group": "contacted"},
        {"code": "custom_language", "label": "Language barrier", "group": "no_contact"}]}
    db.session.commit()
    sid = shift_call(bank)
    first, call = ringing_contact(bank)
    bank.net.answer(call.sid)
    bank.net.hang_up(call.sid)
    bank.net.press(sid, "1")
    menu = bank.net.call(sid).transcript[-1]
    assert "Press 1 for Talked to them." in menu
    assert "Press 2 for Signed the petition." in menu
    bank.net.press(sid, "2")
    assert "Will you come to the rally?" in bank.net.call(sid).transcript[-1]
    bank.net.press(sid, "1")
    bank.net.press(sid, "#")
    second, call = ringing_contact(bank)
    bank.net.answer(call.sid)
    bank.net.hang_up(call.sid)
    bank.net.press(sid, "2")
    menu = bank.net.call(sid).transcript[-1]
    assert "Press 1 for Not home." in menu and "Press 7 for Language barrier." in menu
    bank.net.press(sid, "9")  # no such code: the menu again
    assert bank.net.call(sid).transcript[-1] == menu
    bank.net.press(sid, "7")
    assert "Saved." in bank.net.call(sid).transcript[-1]
    by_contact = {a.contact_id: a for a in bank.attempts()}
    assert by_contact[first.id].disposition == "custom_signed"
    assert by_contact[first.id].answers == {"q1": "yes"}
    assert by_contact[second.id].disposition == "custom_language"


def test_a_group_of_more_than_nine_codes_takes_two_keys_and_pound(bank):
    bank.op.dispositions = {"labels": {}, "custom": [
        {"code": f"custom_gone_{i}", "label": f"Gone {i}", "group": "remove"}
        for i in range(3)]}
    db.session.commit()
    sid = shift_call(bank)
    person, call = ringing_contact(bank)
    bank.net.answer(call.sid)
    bank.net.hang_up(call.sid)
    bank.net.press(sid, "3")
    menu = bank.net.call(sid).transcript[-1]
    assert "Press 10 for Gone 2." in menu and "Then press pound." in menu
    bank.net.press(sid, "10#")
    assert "Saved." in bank.net.call(sid).transcript[-1]
    assert {a.contact_id: a for a in bank.attempts()}[person.id].disposition == "custom_gone_2"
