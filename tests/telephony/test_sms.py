"""SMS: STOP/START/HELP keywords, error 21610, quiet hours, follow-up texts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import (
    Attempt,
    Consent,
    Message,
    OperationState,
    OptOut,
    SimText,
    Target,
    TargetState,
    TextOptOut,
)
from ringround.optouts import is_opted_out, may_contact, may_text
from sms.outbound import TextRefusedError, refusal_of, send_followup, send_text
from tests.telephony.conftest import CAMPAIGN, post_signed
from tests.telephony.test_webhooks import sms_params

REMOTE = "+16175550123"
# 15:00 in Boston (a Monday): inside every default window.
AFTERNOON = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
# 03:00 in Boston.
NIGHT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(factories):
    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    org.help_text = "Union Local 42 phone bank. Questions: 555-0100."
    person = factories.contact(org, phone=REMOTE)
    active = factories.operation(org, admin, name="Active", state=OperationState.ACTIVE)
    ended = factories.operation(org, admin, name="Old", state=OperationState.ENDED)
    for op in (active, ended):
        db.session.add(Target(operation_id=op.id, contact_id=person.id))
    db.session.commit()
    return {"org": org, "admin": admin, "person": person, "active": active, "ended": ended}


def text_in(client, body, sid):
    response = post_signed(client, "/telephony/hooks/sms", sms_params(body, sid, REMOTE))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def target_state(op):
    return db.session.scalar(select(Target.state).where(Target.operation_id == op.id))


@pytest.mark.parametrize("word", ["STOP", "  stop ", "StopAll", "unsubscribe", "CANCEL",
                                  "end", "Quit", "revoke", "OPTOUT\n"])
def test_stop_words_opt_out_organization_wide_and_leave_the_queue(client, world, word):
    reply = text_in(client, word, "SM" + "a" * 32)
    assert "no more calls or texts" in reply
    assert is_opted_out(db.session, world["org"].id, REMOTE)
    db.session.refresh(world["person"])
    assert world["person"].do_not_contact
    assert target_state(world["active"]) is TargetState.REMOVED
    assert target_state(world["ended"]) is TargetState.WAITING  # an ended operation is history


def test_a_sentence_containing_stop_is_not_an_opt_out(client, world):
    text_in(client, "please don't stop calling", "SM" + "b" * 32)
    assert not is_opted_out(db.session, world["org"].id, REMOTE)


@pytest.mark.parametrize("word", ["START", " yes", "unstop"])
def test_start_words_opt_back_in_and_the_target_waits_again(client, world, word):
    text_in(client, "STOP", "SM" + "c" * 32)
    reply = text_in(client, word, "SM" + "d" * 32)
    assert "hear from us again" in reply
    assert not is_opted_out(db.session, world["org"].id, REMOTE)
    db.session.refresh(world["person"])
    assert not world["person"].do_not_contact
    assert target_state(world["active"]) is TargetState.WAITING


@pytest.mark.parametrize("word", ["HELP", "info "])
def test_help_and_info_get_the_organizations_help_text(client, world, word):
    assert "Union Local 42 phone bank" in text_in(client, word, "SM" + "e" * 32)


def queued_and_sent(message: Message) -> Message:
    """Commit: the text's job runs (at once in tests) and the message says how it went."""
    db.session.commit()
    db.session.refresh(message)
    return message


def test_error_21610_in_a_status_callback_opts_the_number_out_of_texts_once(client, world):
    message = queued_and_sent(
        send_text(db.session, world["org"], REMOTE, "Hi", kind="test", now=AFTERNOON))
    params = {"MessageSid": message.sid, "MessageStatus": "undelivered", "ErrorCode": "21610",
              "To": REMOTE, "From": CAMPAIGN}
    for _ in range(2):
        assert post_signed(client, "/telephony/hooks/sms/status", params).status_code == 204
    db.session.refresh(message)
    assert (message.status, message.error_code) == ("undelivered", 21610)
    # Unsubscribed from texts at the carrier: no more texts, but calls go on (#16, item 3).
    assert not may_text(db.session, world["org"].id, REMOTE)
    assert may_contact(db.session, world["org"].id, REMOTE)
    assert db.session.scalar(select(func.count(TextOptOut.id))) == 1
    assert db.session.scalar(select(func.count(OptOut.id))) == 0
    assert target_state(world["active"]) is TargetState.WAITING


def test_error_21610_when_sending_opts_the_number_out_of_texts_only(client, world):
    # The person texted STOP to the carrier-level number: the simulator, like Twilio, refuses.
    db.session.add(SimText(sid="SM" + "f" * 32, direction="inbound", to_number=CAMPAIGN,
                           from_number=REMOTE, body="STOP"))
    db.session.commit()
    message = queued_and_sent(
        send_text(db.session, world["org"], REMOTE, "Hi", kind="test", now=AFTERNOON))
    assert (message.status, message.error_code) == ("failed", 21610)
    assert "unsubscribed" in refusal_of(message)
    assert not may_text(db.session, world["org"].id, REMOTE)
    assert not is_opted_out(db.session, world["org"].id, REMOTE)
    with pytest.raises(TextRefusedError, match="asked not to be contacted"):
        send_text(db.session, world["org"], REMOTE, "Hi again", kind="test", now=AFTERNOON)


def test_no_text_outside_the_contacts_local_hours(world):
    with pytest.raises(TextRefusedError, match="outside their local hours"):
        send_text(db.session, world["org"], REMOTE, "Hi", kind="test",
                  contact=world["person"], now=NIGHT)
    assert db.session.scalar(select(func.count(SimText.id))) == 0
    send_text(db.session, world["org"], REMOTE, "Hi", kind="test", contact=world["person"],
              now=AFTERNOON)
    db.session.commit()
    assert db.session.scalar(select(func.count(SimText.id))) == 1


def test_no_text_to_an_opted_out_number(client, world):
    text_in(client, "STOP", "SM" + "1" * 32)
    with pytest.raises(TextRefusedError, match="asked not to be contacted"):
        send_text(db.session, world["org"], REMOTE, "Hi", kind="test", now=AFTERNOON)


def _followup(world, factories):
    from ringround.models import FollowUpTemplate

    agent = factories.phone_user("Sam")
    template = FollowUpTemplate(organization_id=world["org"].id, name="Event",
                                body="Hi {first_name}, the rally is at https://ex.org/r "
                                     "- {agent_name}")
    attempt = Attempt(client_id="att-1", operation_id=world["active"].id,
                      contact_id=world["person"].id, agent_id=agent.id)
    db.session.add_all([template, attempt])
    db.session.commit()
    return agent, template, attempt


def test_follow_up_needs_sms_consent(world, factories):
    agent, template, attempt = _followup(world, factories)
    with pytest.raises(TextRefusedError, match="did not agree"):
        send_followup(db.session, template, attempt, agent, now=AFTERNOON)
    db.session.add(Consent(contact_id=world["person"].id, channel="sms", text="Texts OK",
                           source="import"))
    db.session.commit()
    message = queued_and_sent(send_followup(db.session, template, attempt, agent, now=AFTERNOON))
    assert message.body == "Hi Maria, the rally is at https://ex.org/r - Sam"
    assert message.status == "sent"
    [sent] = db.session.scalars(select(SimText)).all()
    assert (sent.to_number, sent.from_number) == (REMOTE, CAMPAIGN)
    # A second tap sends nothing new.
    assert send_followup(db.session, template, attempt, agent, now=AFTERNOON).id == message.id
    assert db.session.scalar(select(func.count(Message.id))) == 1


def test_follow_up_refused_after_opt_out_even_with_consent(client, world, factories):
    agent, template, attempt = _followup(world, factories)
    db.session.add(Consent(contact_id=world["person"].id, channel="sms", text="Texts OK",
                           source="import"))
    db.session.commit()
    text_in(client, "STOP", "SM" + "2" * 32)
    with pytest.raises(TextRefusedError):
        send_followup(db.session, template, attempt, agent, now=AFTERNOON)


def test_stop_takes_the_person_out_of_an_active_queue_at_once(app, client, factories):
    from ringround.queue import lease_next
    from tests.telephony.flows import PhoneBank

    bank = PhoneBank(app, factories, contacts=1, network=False)
    maria = bank.people[0].phones[0].e164
    response = post_signed(client, "/telephony/hooks/sms",
                           {**sms_params("Stop", "SM" + "9" * 32, maria)})
    assert response.status_code == 200
    assert lease_next(db.session, bank.op, bank.agent) is None
    db.session.rollback()
    post_signed(client, "/telephony/hooks/sms", {**sms_params("START", "SM" + "8" * 32, maria)})
    lease = lease_next(db.session, bank.op, bank.agent)
    assert lease is not None and lease.contact_id == bank.people[0].id


def test_erasing_a_contact_deletes_their_texts_and_conversations(client, factories):
    from ringround.models import Contact, Conversation
    from ringround.people.erasure import erase_contact

    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    person = factories.contact(org, phone=REMOTE)
    db.session.commit()
    text_in(client, "HELP", "SM" + "3" * 32)
    send_text(db.session, org, REMOTE, "Hi", kind="test", contact=person, now=AFTERNOON)
    db.session.commit()
    assert db.session.scalar(select(func.count(Message.id))) == 2
    counts = erase_contact(db.session, db.session.get(Contact, person.id), admin.id)
    assert counts["texts_deleted"] >= 2
    assert db.session.scalar(select(func.count(Message.id))) == 0
    assert db.session.scalar(select(func.count(SimText.id))) == 0
    assert db.session.scalar(select(func.count(Conversation.id))) == 0
