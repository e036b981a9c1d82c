"""Rendering reply steps as TwiML with the twilio SDK (shared by Twilio and the simulator)."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from sms.provider.steps import Dial, Gather, Hangup, Pause, Play, Redirect, Say, VoiceStep
from sms.provider.voices import voice_for


def _speak(node, step: Say | Play | Pause) -> None:
    if isinstance(step, Say):
        voice = voice_for(step.locale)
        node.say(step.text, voice=voice.voice, language=voice.language)
    elif isinstance(step, Play):
        node.play(step.url)
    else:
        node.pause(length=step.seconds)


def render_voice(steps: list[VoiceStep]) -> str:
    """A `<Response>` document for a voice webhook."""
    response = VoiceResponse()
    for step in steps:
        if isinstance(step, (Say, Play, Pause)):
            _speak(response, step)
        elif isinstance(step, Gather):
            listen = {}
            if step.speech:
                said = next((part for part in step.prompt if isinstance(part, Say)), None)
                listen = {"language": voice_for(said.locale if said else None).language,
                          "speech_timeout": "auto"}
            gather = response.gather(
                action=step.action, method="POST", num_digits=step.num_digits,
                timeout=step.timeout, finish_on_key=step.finish_on_key,
                input="dtmf speech" if step.speech else "dtmf", **listen,
            )
            for part in step.prompt:
                _speak(gather, part)
        elif isinstance(step, Dial):
            dial = response.dial(
                caller_id=step.caller_id, action=step.action, method="POST",
                timeout=step.timeout, hangup_on_star=step.hangup_on_star or None,
            )
            dial.number(
                step.number, url=step.number_url, method="POST" if step.number_url else None,
                status_callback=step.status_callback,
                status_callback_event=" ".join(step.status_events) if step.status_callback
                else None,
                status_callback_method="POST" if step.status_callback else None,
                machine_detection=step.machine_detection,
                amd_status_callback=step.amd_callback,
                amd_status_callback_method="POST" if step.amd_callback else None,
            )
        elif isinstance(step, Redirect):
            response.redirect(step.url, method="POST")
        elif isinstance(step, Hangup):
            response.hangup()
    return str(response)


def render_messaging(texts: list[str]) -> str:
    """A `<Response>` for an SMS webhook, replying with each text (none: an empty response)."""
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return str(response)
