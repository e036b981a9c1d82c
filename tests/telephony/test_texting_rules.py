"""Texting rules at the webhook: opt-out in four languages and in sentences, unclear texts
read by an organizer, nothing starts after STOP, the provider's own STOP/HELP replies,
Messaging Service sending, and keywords in the organization's alphabet."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import Conversation, Message, OperationState, Target
from ringround.optouts import is_opted_out
from ringround.signup_forms import save_signup_form
from sms.outbound import send_text
from tests.conftest import post_form
from tests.telephony.conftest import CAMPAIGN, post_signed
from tests.telephony.test_sms import AFTERNOON, REMOTE
from tests.telephony.test_webhooks import sms_params

SIDS = iter(f"SM{n:032x}" for n in range(1, 10_000))


@pytest.fixture
def world(factories):
    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    org.help_text = "Union Local 42 phone bank. Questions: 555-0100."
    person = factories.contact(org, phone=REMOTE)
    active = factories.operation(org, admin, name="Active", state=OperationState.ACTIVE)
    db.session.add(Target(operation_id=active.id, contact_id=person.id))
    db.session.commit()
    return {"org": org, "admin": admin, "person": person, "active": active}


def text_in(client, body):
    response = post_signed(client, "/telephony/hooks/sms", sms_params(body, next(SIDS), REMOTE))
    assert response.status_code == 200
    return [node.text for node in ET.fromstring(response.get_data(as_text=True))]


@pytest.mark.parametrize("body", ["Stop.", "stop please", "STOPP", "ARRÊT", "AFMELDEN",
                                  "please stop texting me", "ne m'appelez plus",
                                  "sluta skicka", "niet meer bellen"])
def test_opt_out_in_any_of_four_languages_and_in_short_sentences(client, world, body,
                                                                  caplog):
    with caplog.at_level(logging.INFO, logger="sms.inbound"):
        [reply] = text_in(client, body)
    assert "no more calls or texts" in reply
    assert is_opted_out(db.session, world["org"].id, REMOTE)
    assert "recognized as stop by rule" in caplog.text
    assert db.session.scalar(select(Message.kind)) == "optout"


@pytest.mark.parametrize(("body", "expected"), [("aide", "Union Local 42"),
                                                ("HJÄLP", "Union Local 42")])
def test_help_in_other_languages_gets_the_help_text(client, world, body, expected):
    [reply] = text_in(client, body)
    assert expected in reply


def test_an_unclear_text_waits_for_an_organizer_on_the_phone_line_page(client, world,
                                                                       factories):
    assert text_in(client, "please don't stop calling, I'll stop by later") == []
    assert not is_opted_out(db.session, world["org"].id, REMOTE)
    factories.login(client, world["admin"])
    page = client.get("/telephony/").get_data(as_text=True)
    assert "Texts to read" in page and "stop by later" in page
    message = db.session.scalar(select(Message).where(Message.status == "to_read"))
    assert post_form(client, f"/telephony/texts/{message.id}/read", {},
                     page="/telephony/").status_code == 302
    assert "stop by later" not in client.get("/telephony/").get_data(as_text=True)


def signup_form(world, keyword):
    form = save_signup_form(
        db.session, org=world["org"], actor=world["admin"], title="Join",
        fields={"first_name": "required", "phone": "required"}, consent_text="We may text.",
        sms_keyword=keyword, operation_id=world["active"].id, thank_you="Welcome!")
    db.session.commit()
    return form


@pytest.fixture
def join_form(world):
    return signup_form(world, "GÅMED")


def conversations():
    return db.session.scalar(select(func.count(Conversation.id)))


def test_after_stop_a_keyword_starts_nothing_until_start(client, world):
    signup_form(world, "JOIN")
    text_in(client, "STOP")
    assert text_in(client, "JOIN") == []
    assert conversations() == 0
    text_in(client, "START")
    [reply] = text_in(client, "JOIN")
    assert "first name" in reply and conversations() == 1


@pytest.mark.parametrize("body", ["gamed", "Gåmed", "GÅ MED", "gåmed!"])
def test_a_keyword_in_the_organizations_alphabet_matches_without_case_and_accents(
        client, world, join_form, body):
    [reply] = text_in(client, body)
    assert "first name" in reply


@pytest.fixture
def advanced_opt_out(app):
    provider = app.extensions["telephony"]
    provider.answers_keywords = True
    yield provider
    provider.answers_keywords = False


@pytest.mark.twilio
def test_when_twilio_answers_stop_itself_no_second_reply_but_the_opt_out_is_kept(
        client, world, advanced_opt_out, http_client):
    assert text_in(client, "STOP") == []
    assert is_opted_out(db.session, world["org"].id, REMOTE)
    assert text_in(client, "HELP") == []
    assert text_in(client, "START") == []
    assert not is_opted_out(db.session, world["org"].id, REMOTE)
    # Twilio does not know "ARRÊT": Ringround answers that one.
    [reply] = text_in(client, "ARRÊT")
    assert "no more calls or texts" in reply
    assert http_client.requests == []  # replies are TwiML, never REST


MESSAGING_SERVICE = "MG" + "3c" * 16


@pytest.mark.twilio
def test_texts_go_through_the_messaging_service_when_one_is_set(app, world, http_client):
    app.extensions["telephony"].messaging_service_sid = MESSAGING_SERVICE
    send_text(db.session, world["org"], REMOTE, "Rally on Saturday", kind="test",
              now=AFTERNOON)
    db.session.commit()  # the text is sent by a job, once the sender commits
    [request] = http_client.requests
    assert request["uri"].endswith("/Messages.json")
    assert request["data"]["MessagingServiceSid"] == MESSAGING_SERVICE
    assert request["data"]["From"] == CAMPAIGN and request["data"]["To"] == REMOTE


def test_messaging_service_and_advanced_opt_out_settings_reach_the_provider(tmp_path,
                                                                            monkeypatch):
    from ringround import create_app
    from ringround.config import TelephonySettings
    from sms.provider import TelephonyConfigError
    from tests.conftest import TEST_SECRET
    from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", MESSAGING_SERVICE)
    monkeypatch.setenv("TWILIO_ADVANCED_OPT_OUT", "1")
    settings = TelephonySettings.from_environ()
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "TELEPHONY": settings,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "PUBLIC_BASE_URL": "https://calls.example.org"},
                     instance_path=str(tmp_path))
    provider = app.extensions["telephony"]
    assert provider.messaging_service_sid == MESSAGING_SERVICE and provider.answers_keywords
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG123")
    with pytest.raises(TelephonyConfigError, match="TWILIO_MESSAGING_SERVICE_SID must be"):
        create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET,
                    "TELEPHONY": TelephonySettings.from_environ(),
                    "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "PUBLIC_BASE_URL": "https://calls.example.org"},
                   instance_path=str(tmp_path / "2"))
