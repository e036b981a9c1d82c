"""Call-in codes cannot be guessed: the line stops checking codes from a number after a few
wrong ones, and for the whole instance after a few more from any numbers (a volunteer from
their own number still gets in); codes expire. All through signed webhooks and the real
twilio SDK's TwiML (tests/telephony/conftest.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ringround.call_in_codes import CODE_LIFETIME, code_expiry, issue_call_in_code
from ringround.extensions import db
from ringround.models import CallLeg, LegKind, OperationState, utcnow
from tests.telephony.conftest import ACCOUNT_SID, CAMPAIGN, post_signed
from tests.telephony.flows import PhoneBank

STRANGER = "+16175550999"
pytestmark = pytest.mark.twilio


@pytest.fixture
def bank(app, factories, http_client):
    bank = PhoneBank(app, factories, network=False)
    bank.code = issue_call_in_code(db.session, bank.op.id, bank.agent.id)
    db.session.commit()
    return bank


class Caller:
    """One call to the campaign line from `remote`, keying codes as Twilio posts them."""

    count = 0

    def __init__(self, client, remote: str):
        Caller.count += 1
        self.client, self.remote = client, remote
        self.sid, self.tries = f"CA{Caller.count:032d}", 0

    def key(self, digits: str) -> ET.Element:
        response = post_signed(
            self.client, f"/telephony/hooks/voice/call-in/code?tries={self.tries}",
            {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": self.remote,
             "To": CAMPAIGN, "CallStatus": "in-progress", "Digits": digits})
        assert response.status_code == 200
        self.tries += 1
        return ET.fromstring(response.get_data(as_text=True))


def said(root: ET.Element) -> str:
    return " ".join(node.text or "" for node in root.iter("Say"))


def wrong(code: str, n: int) -> str:
    return f"{(int(code) + n) % 10 ** 6:06d}"


def shifts() -> int:
    return db.session.scalar(select(func.count(CallLeg.id)).where(
        CallLeg.kind == LegKind.CALL_IN))


def test_the_line_stops_checking_codes_from_a_number_after_its_limit(app, client, bank):
    assert app.config["CALL_IN_FAILED_CODES_PER_NUMBER"].startswith("5 per hour")
    first = Caller(client, STRANGER)
    for n in (1, 2, 3):
        root = first.key(wrong(bank.code, n))
    assert "That code is not valid. Goodbye." in said(root) and root.find("Hangup") is not None
    second = Caller(client, STRANGER)  # calls again: two more wrong codes, five in all
    assert "That code is not valid." in said(second.key(wrong(bank.code, 4)))
    assert "That code is not valid." in said(second.key(wrong(bank.code, 5)))
    # The sixth entry from this number is not checked, even the right code.
    root = second.key(bank.code)
    assert "Too many wrong codes were keyed. Please try again later." in said(root)
    assert root.find("Hangup") is not None and root.find("Redirect") is None
    third = Caller(client, STRANGER)
    assert "try again later" in said(third.key(bank.code))
    assert shifts() == 0
    # Another number is not held back by this one's count: the volunteer gets in.
    root = Caller(client, bank.agent.phone_e164).key(bank.code)
    assert "Your shift in" in said(root) and shifts() == 1


def test_the_instance_limit_stops_guesses_from_many_numbers(app, client, bank):
    """Ten wrong codes from five numbers (two each, under each number's limit) close the
    instance-wide look-up: a new number's right code is not checked, while the volunteer
    calling from their own number still starts their shift at once."""
    assert app.config["CALL_IN_FAILED_CODES_PER_INSTANCE"].startswith("10 per hour")
    guess = 0
    for number in range(5):
        caller = Caller(client, f"+1617555{1000 + number}")
        for _ in range(2):
            guess += 1
            assert "That code is not valid." in said(caller.key(wrong(bank.code, guess)))
    root = Caller(client, "+16175552000").key(bank.code)
    assert "try again later" in said(root) and root.find("Hangup") is not None
    assert shifts() == 0
    root = Caller(client, bank.agent.phone_e164).key(bank.code)
    assert "Your shift in" in said(root) and shifts() == 1


def test_an_expired_code_is_refused_with_a_clear_message(client, bank):
    code = issue_call_in_code(db.session, bank.op.id, bank.agent.id,
                              now=utcnow() - CODE_LIFETIME - timedelta(minutes=1))
    db.session.commit()
    root = Caller(client, bank.agent.phone_e164).key(code)
    assert "That code has expired. Ask your organizer for a new code" in said(root)
    assert root.find("Hangup") is not None and root.find("Gather") is None
    assert shifts() == 0


def test_a_code_stops_working_when_its_operation_ends(client, bank):
    bank.op.state = OperationState.ENDED
    db.session.commit()
    assert "That code has expired." in said(Caller(client, bank.agent.phone_e164).key(bank.code))
    assert shifts() == 0


def test_a_code_lasts_two_weeks_and_each_shift_keeps_it_working(client, bank):
    issued = utcnow() - timedelta(days=10)
    code = issue_call_in_code(db.session, bank.op.id, bank.agent.id, now=issued)
    db.session.commit()
    assert code_expiry(db.session, bank.op.id, bank.agent.id) == issued + CODE_LIFETIME
    assert "Your shift in" in said(Caller(client, STRANGER).key(code))
    renewed = code_expiry(db.session, bank.op.id, bank.agent.id)
    assert renewed >= utcnow() + CODE_LIFETIME - timedelta(minutes=1)


def test_a_code_never_lasts_past_the_operations_end(bank):
    bank.op.ends_at = utcnow() + timedelta(days=3)
    issue_call_in_code(db.session, bank.op.id, bank.agent.id)
    assert code_expiry(db.session, bank.op.id, bank.agent.id) == bank.op.ends_at
