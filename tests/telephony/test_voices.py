"""Prompts are spoken by a voice of their language, chosen in one place (sms/provider/voices)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from flask_babel import force_locale

from sms.provider.steps import Gather, Say
from sms.provider.twiml import render_voice
from sms.provider.voices import VOICES, voice_for
from tests.telephony.conftest import CAMPAIGN, post_signed
from tests.telephony.flows import PhoneBank
from tests.telephony.test_bridged_calls import start


@pytest.mark.parametrize(("locale", "voice", "language"), [
    ("fr", "Polly.Celine", "fr-FR"), ("sv", "Polly.Astrid", "sv-SE"),
    ("nl", "Polly.Lotte", "nl-NL"), ("en", "Polly.Joanna", "en-US"),
    ("en_GB", "Polly.Amy", "en-GB")])
def test_a_prompt_written_in_a_language_is_spoken_by_a_voice_of_that_language(
        app, locale, voice, language):
    with app.test_request_context(), force_locale(locale):
        steps = [Say("…"), Gather(action="https://x.example/a", prompt=(Say("…"),))]
    root = ET.fromstring(render_voice(steps))
    for say in root.iter("Say"):
        assert (say.get("voice"), say.get("language")) == (voice, language)


def test_unknown_locales_fall_back_to_their_language_then_english():
    assert voice_for("fr-CA") == VOICES["fr"] and voice_for("sv_FI") == VOICES["sv"]
    assert voice_for("xx") == VOICES["en"] and voice_for(None) == VOICES["en"]


@pytest.mark.twilio
def test_twilio_gets_a_voice_and_language_on_every_say(app, client, factories, http_client):
    bank = PhoneBank(app, factories, network=False)
    leg = start(bank)
    response = post_signed(client, f"/telephony/hooks/voice/bridge/{leg.token}/answer", {
        "CallSid": leg.sid, "CallStatus": "in-progress", "From": CAMPAIGN,
        "To": bank.agent.phone_e164})
    says = list(ET.fromstring(response.get_data(as_text=True)).iter("Say"))
    assert says and all((s.get("voice"), s.get("language")) == ("Polly.Joanna", "en-US")
                        for s in says)
