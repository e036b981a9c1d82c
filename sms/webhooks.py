"""The provider's webhooks. Every route here is signature-checked (and only these are exempt
from CSRF): inbound texts, message status, inbound calls, call status and AMD callbacks, and
the TwiML steps of bridged calls and call-in shifts (sms/voice/answering.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_babel import force_locale
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import CallLeg, Message
from ringround.status_order import sequence_number
from sms.inbound import handle_inbound_text
from sms.language import Hearer, leg_locale, volunteer_locale
from sms.outbound import on_message_status
from sms.provider import get_provider
from sms.security import first_delivery, signed_webhook
from sms.voice import bridge
from sms.voice import call_in as callin
from sms.voice.answering import answer_inbound_call
from sms.voice.answering import unknown_caller_choice as answer_unknown_caller
from sms.voice.legs import on_leg_status

hooks = Blueprint("telephony_hooks", __name__, url_prefix="/telephony/hooks")


def twiml(body: str) -> Response:
    return Response(body, mimetype=get_provider().reply_mimetype)


def error_code(form) -> int | None:
    """The provider's ErrorCode parameter, when it sent one."""
    code = form.get("ErrorCode", "")
    return int(code) if code.isdigit() else None


def empty_messaging() -> Response:
    return twiml(get_provider().messaging_reply([]))


@hooks.post("/sms")
@signed_webhook
def inbound_sms():
    """A text to a campaign number (Twilio: the number's "A message comes in" webhook)."""
    form = request.form
    sid = form.get("MessageSid", "")
    if not first_delivery(sid, "sms_in"):
        return empty_messaging()
    replies = handle_inbound_text(
        db.session, sid=sid, remote=form.get("From", ""), number=form.get("To", ""),
        body=form.get("Body", ""), default_number=get_provider().default_from,
        provider_replies=get_provider().answers_keywords,
    )
    db.session.commit()
    return twiml(get_provider().messaging_reply(replies))


@hooks.post("/sms/status")
@signed_webhook
def message_status():
    """Delivery reports for texts we sent; the error code's effects (21610 unsubscribed,
    21211/21214 a bad number) follow as a job (sms/jobs.py)."""
    form = request.form
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not first_delivery(sid, f"sms_status:{status}"):
        return Response(status=204)
    message = db.session.scalar(select(Message).where(Message.sid == sid))
    if message is not None:
        on_message_status(db.session, message, status, error_code(form))
    db.session.commit()
    return Response(status=204)


@hooks.post("/voice/status/<token>")
@signed_webhook
def call_status(token: str):
    """Progress of one call leg (ringing, answered, completed, busy, no-answer, failed)."""
    form = request.form
    sid, status = form.get("CallSid", ""), form.get("CallStatus", "")
    leg = db.session.scalar(select(CallLeg).where(CallLeg.token == token))
    if leg is None or not first_delivery(sid, f"call_status:{status}"):
        return Response(status=204)
    on_leg_status(db.session, leg, sid=sid, status=status,
                  answered_by=form.get("AnsweredBy") or None,
                  sequence=sequence_number(form.get("SequenceNumber")), error_code=error_code(form))
    db.session.commit()
    return Response(status=204)


@hooks.post("/voice/amd/<token>")
@signed_webhook
def amd_result(token: str):
    """Answering-machine detection's verdict for one call leg (human, machine_*, fax...)."""
    form = request.form
    sid = form.get("CallSid", "")
    leg = db.session.scalar(select(CallLeg).where(CallLeg.token == token))
    if leg is None or not first_delivery(sid, "amd"):
        return Response(status=204)
    on_leg_status(db.session, leg, sid=sid, status=None,
                  answered_by=form.get("AnsweredBy") or "unknown")
    db.session.commit()
    return Response(status=204)


@hooks.post("/voice")
@signed_webhook
def inbound_voice():
    """A call to a campaign number (Twilio: the number's "A call comes in" webhook)."""
    steps = answer_inbound_call(db.session, request.form)
    db.session.commit()
    return twiml(get_provider().voice_reply(steps))


@hooks.post("/voice/status")
@signed_webhook
def inbound_call_status():
    """Status of calls that came in (Twilio: the number's "Call status changes" webhook)."""
    form = request.form
    sid, status = form.get("CallSid", ""), form.get("CallStatus", "")
    leg = db.session.scalar(select(CallLeg).where(CallLeg.sid == sid)) if sid else None
    if leg is None or not first_delivery(sid, f"call_status:{status}"):
        return Response(status=204)
    on_leg_status(db.session, leg, sid=sid, status=status, answered_by=None,
                  sequence=sequence_number(form.get("SequenceNumber")), error_code=error_code(form))
    db.session.commit()
    return Response(status=204)


def leg_or_404(token: str) -> CallLeg:
    leg = db.session.scalar(select(CallLeg).where(CallLeg.token == token))
    if leg is None:
        abort(404)
    return leg


def voice(steps) -> Response:
    db.session.commit()
    return twiml(get_provider().voice_reply(steps))


def leg_voice(token: str, hearer: Hearer, flow, *args) -> Response:
    """Run `flow(session, leg, *args)` and answer its steps, in the language of who hears them."""
    leg = leg_or_404(token)
    with force_locale(leg_locale(db.session, leg, hearer)):
        return voice(flow(db.session, leg, *args))


@hooks.post("/voice/bridge/<token>/answer")
@signed_webhook
def bridge_answer(token: str):
    """The volunteer's phone picked up a bridged call (the REST call's Url)."""
    return leg_voice(token, Hearer.AGENT, bridge.bridge_answer)


@hooks.post("/voice/bridge/<token>/confirm")
@signed_webhook
def bridge_confirm(token: str):
    """The volunteer pressed a key (or none) before the contact is dialled."""
    return leg_voice(token, Hearer.AGENT, bridge.bridge_confirm, request.form.get("Digits", ""))


@hooks.post("/voice/bridge/<token>/screen")
@signed_webhook
def bridge_screen(token: str):
    """The contact's side answered (the Number's url): a machine or a person?"""
    return leg_voice(token, Hearer.CONTACT, bridge.bridge_screen,
                     request.form.get("AnsweredBy") or None)


@hooks.post("/voice/bridge/<token>/done")
@signed_webhook
def bridge_done(token: str):
    """The contact's side ended (the Dial's action)."""
    return leg_voice(token, Hearer.AGENT, bridge.bridge_done,
                     request.form.get("DialCallStatus", ""))


@hooks.post("/voice/callback/<token>/whisper")
@signed_webhook
def callback_whisper(token: str):
    return leg_voice(token, Hearer.AGENT, bridge.callback_whisper)


@hooks.post("/voice/callback/<token>/accept")
@signed_webhook
def callback_accept(token: str):
    """The volunteer pressed 1 (or another key) to take a call-back."""
    return voice(bridge.callback_accept(db.session, leg_or_404(token),
                                        request.form.get("Digits", "")))


@hooks.post("/voice/callback/<token>/done")
@signed_webhook
def callback_done(token: str):
    return leg_voice(token, Hearer.CONTACT, bridge.callback_done,
                     request.form.get("DialCallStatus", ""))


@hooks.post("/voice/caller/choice")
@signed_webhook
def unknown_caller_choice():
    """A caller who is neither a contact nor a volunteer keyed 1, 9, a code, or said stop."""
    tries = request.args.get("tries", "0")
    count = int(tries) if tries.isdigit() else 0
    return voice(answer_unknown_caller(db.session, request.form, count))


@hooks.post("/voice/call-in/code")
@signed_webhook
def callin_code():
    """The volunteer keyed in their code."""
    tries = request.args.get("tries", "0")
    with force_locale(volunteer_locale(db.session, None, request.form.get("From", ""))):
        return voice(callin.check_code(db.session, request.form.get("Digits", ""),
                                       int(tries) if tries.isdigit() else 0,
                                       request.form.get("CallSid", ""),
                                       request.form.get("From", "")))


@hooks.post("/voice/call-in/<token>/next")
@signed_webhook
def callin_next(token: str):
    return leg_voice(token, Hearer.AGENT, callin.next_call)


@hooks.post("/voice/call-in/<token>/dialed")
@signed_webhook
def callin_dialed(token: str):
    return leg_voice(token, Hearer.AGENT, callin.dialed, request.form.get("DialCallStatus", ""))


@hooks.post("/voice/call-in/<token>/result")
@signed_webhook
def callin_result(token: str):
    return leg_voice(token, Hearer.AGENT, callin.keyed_result, request.form.get("Digits", ""))


@hooks.post("/voice/call-in/<token>/code")
@signed_webhook
def callin_code_choice(token: str):
    """The key choosing a result code within the group keyed before."""
    return leg_voice(token, Hearer.AGENT, callin.keyed_code, request.form.get("Digits", ""))


@hooks.post("/voice/call-in/<token>/answer")
@signed_webhook
def callin_answer(token: str):
    return leg_voice(token, Hearer.AGENT, callin.keyed_answer,
                     request.args.get("question", ""), request.form.get("Digits", ""))


@hooks.post("/voice/call-in/<token>/continue")
@signed_webhook
def callin_continue(token: str):
    return leg_voice(token, Hearer.AGENT, callin.keyed_continue, request.form.get("Digits", ""))
