"""Keyword sign-up by SMS, through the simulator and the signed inbound-SMS webhook."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import (
    Contact,
    Conversation,
    ConversationState,
    SignupForm,
    Target,
)
from ringround.signup_forms import save_signup_form
from tests.telephony.conftest import CAMPAIGN
from tests.telephony.flows import PhoneBank

PHONE = "+16175550155"


@pytest.fixture
def bank(app, factories):
    bank = PhoneBank(app, factories, contacts=0)
    bank.form = save_signup_form(
        db.session, org=bank.org, actor=bank.admin, title="Join the union",
        fields={"first_name": "required", "phone": "required", "email": "optional",
                "postcode": "required"},
        consent_text="We may call and text you about the campaign.", tags=["volunteer", "sms"],
        sms_keyword="JOIN", operation_id=bank.op.id, thank_you="Welcome aboard!")
    db.session.commit()
    return bank


def text(bank, body):
    [reply] = bank.net.text_in(PHONE, CAMPAIGN, body)
    return reply


def test_texting_the_keyword_signs_someone_up_with_consent_source_and_tags(bank):
    assert "What is your first name?" in text(bank, " join ")
    assert "email" in text(bank, "Maria") and "SKIP" in text(bank, "not an email")
    assert "postcode" in text(bank, "maria@example.org")
    confirm = text(bank, "02139")
    assert "We may call and text you about the campaign." in confirm and "YES" in confirm
    assert text(bank, "yes") == "Welcome aboard!"

    contact = db.session.scalar(select(Contact))
    assert (contact.first_name, contact.email, contact.postcode) == (
        "Maria", "maria@example.org", "02139")
    assert [p.e164 for p in contact.phones] == [PHONE]
    assert contact.source == "sms:JOIN"
    assert sorted(t.name for t in contact.tags) == ["sms", "volunteer"]
    consents = {c.channel: c for c in contact.consents}
    assert set(consents) == {"call", "sms"}
    assert consents["sms"].text == "We may call and text you about the campaign."
    assert consents["sms"].source == "sms:JOIN" and consents["sms"].text_version == "1"
    assert db.session.scalar(select(Target).where(Target.contact_id == contact.id)) is not None
    assert db.session.get(SignupForm, bank.form.id).submissions == 1
    assert db.session.scalar(select(Conversation.state)) is ConversationState.DONE


def test_optional_fields_can_be_skipped_and_required_ones_cannot(bank):
    text(bank, "JOIN")
    assert "We need this one." in text(bank, "skip")
    text(bank, "Ahmed")
    assert "postcode" in text(bank, "SKIP")
    text(bank, "10001")
    text(bank, "YES")
    contact = db.session.scalar(select(Contact))
    assert contact.first_name == "Ahmed" and contact.email is None


def test_a_known_number_is_merged_not_duplicated(bank, factories):
    factories.contact(bank.org, first_name="Maria", phone=PHONE, time_zone="UTC",
                      email="old@example.org")
    for body in ("JOIN", "Maria", "new@example.org", "02139", "yes"):
        text(bank, body)
    assert db.session.scalar(select(func.count(Contact.id))) == 1
    contact = db.session.scalar(select(Contact))
    assert contact.email == "old@example.org"  # a sign-up never overwrites what was recorded
    assert any(c.channel == "sms" for c in contact.consents)


def test_stop_in_the_middle_cancels_and_saves_nothing(bank):
    text(bank, "JOIN")
    text(bank, "Maria")
    assert "no more calls or texts" in text(bank, "STOP")
    assert db.session.scalar(select(Conversation.state)) is ConversationState.CANCELLED
    assert db.session.scalar(select(func.count(Contact.id))) == 0
    assert bank.net.text_in(PHONE, CAMPAIGN, "postcode 02139") == []


def test_the_conversation_speaks_the_forms_language(bank):
    bank.form.language = "fr"
    db.session.commit()
    text(bank, "JOIN")
    assert db.session.scalar(select(Conversation.language)) == "fr"


def test_an_unknown_word_gets_no_reply(bank):
    assert bank.net.text_in(PHONE, CAMPAIGN, "hello?") == []


@pytest.mark.parametrize("word", ["no", "NON", "nej", "Nee"])
def test_no_in_each_of_our_languages_cancels_the_confirmation(bank, word):
    for body in ("JOIN", "Maria", "SKIP", "02139"):
        text(bank, body)
    assert text(bank, word) == "All right, nothing was saved."
    assert db.session.scalar(select(Conversation.state)) is ConversationState.CANCELLED
    assert db.session.scalar(select(func.count(Contact.id))) == 0


@pytest.mark.parametrize("word", ["yes", "OUI", "ja", "Oké"])
def test_yes_in_each_of_our_languages_confirms(bank, word):
    for body in ("JOIN", "Maria", "SKIP", "02139"):
        text(bank, body)
    assert text(bank, word) == "Welcome aboard!"
    assert db.session.scalar(select(func.count(Contact.id))) == 1


def test_the_sign_up_by_text_asks_for_a_yes_word_it_accepts_in_each_language(app):
    """The confirmation step names a word the conversation takes as yes in that language
    (the Swedish one asked for "YES" where a Swede types "JA")."""
    import re
    from types import SimpleNamespace

    from flask_babel import force_locale

    from sms.keyword_signup import YES_WORDS, confirms, next_prompt

    form = SimpleNamespace(consent_text="We will call you.", fields={})
    for locale, words in YES_WORDS.items():
        with app.test_request_context(), force_locale(locale):
            prompt = next_prompt(form, SimpleNamespace(fields=[]))
        asked = set(re.findall(r"\b[A-ZÅÄÖÉ]{2,}\b", prompt))
        assert asked & words, (locale, prompt)
        assert all(confirms(word) for word in asked & words)
