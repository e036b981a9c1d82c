"""The same phone flows on PostgreSQL (row locks, SKIP LOCKED, savepoints for replays)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ringround.call_in_codes import issue_call_in_code
from ringround.extensions import db
from ringround.models import ProviderEvent, TargetState
from tests.telephony.conftest import CAMPAIGN
from tests.telephony.flows import PhoneBank
from tests.telephony.test_bridged_calls import connect, start

pytestmark = pytest.mark.postgres


def test_bridged_busy_call_is_retried_and_a_replayed_text_is_ignored(pg_app):
    from tests import factories

    bank = PhoneBank(pg_app, factories)
    start(bank)
    bank.net.ring_out(connect(bank).sid, "busy")
    [attempt] = bank.attempts()
    assert attempt.disposition == "auto_busy"
    assert bank.target(bank.people[0]).state is TargetState.WAITING
    # A replayed inbound text: the unique (sid, kind) refuses it inside a savepoint.
    from tests.telephony.conftest import post_signed
    from tests.telephony.test_webhooks import sms_params

    client = pg_app.test_client()
    params = sms_params("HELP", "SM" + "7" * 32, "+16175550100")
    assert "<Message>" in post_signed(client, "/telephony/hooks/sms", params).get_data(True)
    assert "<Message>" not in post_signed(client, "/telephony/hooks/sms", params).get_data(True)
    assert db.session.scalar(select(func.count(ProviderEvent.id)).where(
        ProviderEvent.sid == params["MessageSid"])) == 1


def test_call_in_shift_on_postgresql(pg_app):
    from tests import factories

    bank = PhoneBank(pg_app, factories, contacts=2)
    code = issue_call_in_code(db.session, bank.op.id, bank.agent.id)
    db.session.commit()
    sid = bank.net.dial_in(bank.agent.phone_e164, CAMPAIGN)
    bank.net.press(sid, code)
    for _ in range(2):
        call = next(bank.ringing(p.phones[0].e164) for p in bank.people
                    if bank.ringing(p.phones[0].e164) is not None)
        bank.net.answer(call.sid)
        bank.net.hang_up(call.sid)
        bank.net.press(sid, "2")
        bank.net.press(sid, "1")  # no contact: the first of its codes, not home
        bank.net.press(sid, "#")
    assert bank.net.call(sid).phase == "ended"
    assert sorted(a.disposition for a in bank.attempts()) == ["not_home", "not_home"]
