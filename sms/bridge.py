"""Bridged calls through the campaign line, and contacts calling it back.

The campaign number rings the volunteer's own (verified) phone; on answer a short whisper
names the person, then the contact is dialled with the campaign number as caller ID. Neither
side sees the other's number, and webhook URLs carry only a leg's opaque token.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import (
    Attempt,
    CallLeg,
    CallMethod,
    Contact,
    ContactPhone,
    LegKind,
    Operation,
    OperationMember,
    Organization,
    Target,
    TargetState,
    User,
    utcnow,
)
from ringround.telephony_rules import may_contact, quiet_hours
from sms.calls import TERMINAL, legs_of, new_leg, release_job
from sms.jobs import defer
from sms.links import hook_url
from sms.provider import ProviderError, get_provider
from sms.provider.steps import CallRequest, Dial, Gather, Hangup, Redirect, Say, VoiceStep
from sms.telephony_numbers import default_number

RING_SECONDS = 25


class BridgeError(Exception):
    """A bridged call that cannot be placed; the message is fit to show the caller."""


def _leased_target(session: Session, target_id: int, agent: User, now: datetime) -> Target:
    target = session.get(Target, target_id)
    if (target is None or target.state != TargetState.LEASED or target.leased_to_id != agent.id
            or target.lease_expires_at is None or target.lease_expires_at <= now):
        raise BridgeError(_("This person is not on your list any more."))
    return target


def prepare_bridged_call(session: Session, operation: Operation, agent: User, target_id: int,
                         client_id: str, now: datetime | None = None) -> CallLeg:
    """Check everything and record the attempt and its two legs; the caller commits, then
    calls `place_bridged_call` (so the provider's first webhook finds them)."""
    from ringround.queue import start_attempt
    from ringround.queue.checks import usable_phone

    now = now or utcnow()
    if not operation.allow_campaign_line:
        raise BridgeError(_("This operation does not use the campaign line."))
    if not agent.phone_e164:
        raise BridgeError(_("Add and verify your phone number first."))
    member = session.scalar(select(OperationMember.id).where(
        OperationMember.operation_id == operation.id, OperationMember.user_id == agent.id))
    if member is None:
        raise BridgeError(_("You are not a caller in this operation."))
    target = _leased_target(session, target_id, agent, now)
    contact = session.get(Contact, target.contact_id)
    phone = usable_phone(session, contact)[0] if contact else None
    org = session.get(Organization, operation.organization_id)
    if phone is None or not may_contact(session, org.id, phone.e164):
        raise BridgeError(_("This person must not be called."))
    if quiet_hours(now, phone.e164, contact, org, operation):
        raise BridgeError(_("It is outside their local calling hours."))
    if default_number(org, operation) is None:
        raise BridgeError(_("No campaign number is set up for this operation."))
    attempt = start_attempt(session, client_id, operation.id, target.id, agent.id,
                            CallMethod.BRIDGED, now=now)
    attempt.phone_id = phone.id
    existing = session.scalar(select(CallLeg).where(CallLeg.attempt_id == attempt.id,
                                                    CallLeg.kind == LegKind.BRIDGE_AGENT))
    if existing is not None:  # the same tap sent twice
        return existing
    common = {"organization_id": org.id, "operation_id": operation.id,
              "attempt_id": attempt.id, "agent_id": agent.id, "contact_id": contact.id}
    agent_leg = new_leg(session, LegKind.BRIDGE_AGENT, **common)
    new_leg(session, LegKind.BRIDGE_CONTACT, parent_id=agent_leg.id, **common)
    return agent_leg


def place_bridged_call(session: Session, agent_leg: CallLeg) -> str:
    """Ask the provider to ring the volunteer's phone from the campaign number (paced)."""
    if agent_leg.sid:
        return agent_leg.sid
    operation = session.get(Operation, agent_leg.operation_id)
    org = session.get(Organization, agent_leg.organization_id)
    agent = session.get(User, agent_leg.agent_id)
    try:
        sid = get_provider().place_call(CallRequest(
            to=agent.phone_e164, from_number=default_number(org, operation),
            answer_url=hook_url("telephony_hooks.bridge_answer", token=agent_leg.token),
            status_callback=hook_url("telephony_hooks.call_status", token=agent_leg.token),
            timeout=RING_SECONDS,
        ))
    except ProviderError as error:
        agent_leg.status = "failed"
        raise BridgeError(_("The campaign line could not place the call.")) from error
    agent_leg.sid = sid
    agent_leg.status = "ringing"
    session.flush()
    return sid


def machine_detection(operation: Operation) -> str:
    """Wait for the beep when a message is to be left, else decide as fast as possible."""
    return "DetectMessageEnd" if (operation.voicemail_policy or {}).get("leave_message") \
        else "Enable"


CONFIRM_SECONDS = 10


def _still_needed(session: Session, agent_leg: CallLeg):
    """The open attempt, contact and number of a bridged call, or None if it is no longer
    needed (a result came in, the person was erased or opted out)."""
    attempt = session.get(Attempt, agent_leg.attempt_id) if agent_leg.attempt_id else None
    contact = session.get(Contact, agent_leg.contact_id) if agent_leg.contact_id else None
    phone = session.get(ContactPhone, attempt.phone_id) if attempt and attempt.phone_id else None
    if (attempt is None or attempt.recorded_at is not None or contact is None or phone is None
            or not may_contact(session, agent_leg.organization_id, phone.e164)):
        return None
    return attempt, contact, phone


def bridge_answer(session: Session, agent_leg: CallLeg) -> list[VoiceStep]:
    """The volunteer's phone picked up: ask for a key press before anyone is dialled, so that
    the volunteer's own voicemail never calls the contact (it presses nothing)."""
    agent_leg.status = "in-progress"
    needed = _still_needed(session, agent_leg)
    if needed is None:
        return [Say(_("This call is no longer needed. Goodbye.")), Hangup()]
    name = needed[1].first_name or _("the next person")
    confirm = hook_url("telephony_hooks.bridge_confirm", token=agent_leg.token)
    return [
        Gather(action=confirm, num_digits=1, timeout=CONFIRM_SECONDS, prompt=(
            Say(_("Ringround. Press 1 to call %(name)s.", name=name)),)),
        # No key pressed (a voicemail, or nobody there): the same hook, without digits.
        Redirect(confirm),
    ]


def bridge_confirm(session: Session, agent_leg: CallLeg, digits: str) -> list[VoiceStep]:
    """The volunteer's key press: 1 dials the contact from the campaign line; anything else
    (or nothing) calls nobody and puts the person back in line."""
    needed = _still_needed(session, agent_leg)
    if needed is None:
        return [Say(_("This call is no longer needed. Goodbye.")), Hangup()]
    attempt, contact, phone = needed
    if digits != "1":
        attempt.provider_status = "agent_unconfirmed"
        defer(release_job, attempt.target_id, agent_leg.agent_id)
        return [Say(_("Nobody was called. Goodbye.")), Hangup()]
    operation = session.get(Operation, agent_leg.operation_id)
    org = session.get(Organization, agent_leg.organization_id)
    contact_leg = next(leg for leg in legs_of(session, agent_leg)
                       if leg.kind == LegKind.BRIDGE_CONTACT)
    name = contact.first_name or _("the next person")
    return [
        Say(_("Connecting you to %(name)s.", name=name)),
        Dial(number=phone.e164, caller_id=default_number(org, operation),
             action=hook_url("telephony_hooks.bridge_done", token=agent_leg.token),
             timeout=RING_SECONDS,
             number_url=hook_url("telephony_hooks.bridge_screen", token=contact_leg.token),
             status_callback=hook_url("telephony_hooks.call_status", token=contact_leg.token),
             machine_detection=machine_detection(operation),
             amd_callback=hook_url("telephony_hooks.amd_result", token=contact_leg.token)),
    ]


def bridge_screen(session: Session, contact_leg: CallLeg, answered_by: str | None
                  ) -> list[VoiceStep]:
    """Run on the contact's side before connecting: a machine gets the operation's message
    (or nothing) and the call ends; a person is connected (an empty reply)."""
    from sms.calls import is_machine

    if not is_machine(answered_by):
        return []
    operation = session.get(Operation, contact_leg.operation_id)
    policy = operation.voicemail_policy or {}
    steps: list[VoiceStep] = []
    if policy.get("leave_message") and (policy.get("message") or "").strip():
        steps.append(Say(policy["message"].strip()))
    return [*steps, Hangup()]


DIAL_OUTCOMES = {
    "busy": _l("The line was busy."),
    "no-answer": _l("Nobody answered."),
    "failed": _l("The call could not go through."),
    "canceled": _l("The call was cancelled."),
}


def bridge_done(session: Session, agent_leg: CallLeg, dial_status: str) -> list[VoiceStep]:
    """The contact's side ended: tell the volunteer how, then hang up (the app goes on)."""
    from sms.calls import is_machine

    contact_leg = next((leg for leg in legs_of(session, agent_leg)
                        if leg.kind == LegKind.BRIDGE_CONTACT), None)
    if contact_leg is not None and is_machine(contact_leg.answered_by):
        text = _("That was an answering machine. It is recorded; on to the next one.")
    elif dial_status in DIAL_OUTCOMES:
        text = f"{DIAL_OUTCOMES[dial_status]} {_('It is recorded.')}"
    else:
        text = _("Call ended. Record the result in the app.")
    return [Say(text), Hangup()]


def _agent_available(session: Session, agent: User) -> bool:
    """Not on another call through the line (legs silent for two hours count as over)."""
    busy = session.scalar(select(CallLeg.id).where(
        CallLeg.agent_id == agent.id, CallLeg.status.not_in([*TERMINAL, "ended", "missed"]),
        CallLeg.updated_at > utcnow() - timedelta(hours=2),
        CallLeg.kind.in_([LegKind.BRIDGE_AGENT, LegKind.CALL_IN, LegKind.CALLBACK]),
    ).limit(1))
    return busy is None and bool(agent.phone_e164) and agent.active


def answer_callback(session: Session, org: Organization, contacts: list[Contact],
                    sid: str, number: str) -> list[VoiceStep]:
    """A contact calls the campaign number back: to the volunteer who last called them from
    it when available (masked both ways), else a short message and the owners see it.
    Twilio may retry the webhook: a retry with the same CallSid reuses the first record."""
    retried = session.scalar(select(CallLeg).where(
        CallLeg.sid == sid, CallLeg.kind == LegKind.CALLBACK).limit(1)) if sid else None
    if retried is not None:
        agent = session.get(User, retried.agent_id) if retried.agent_id else None
        return _callback_steps(org, retried, agent if retried.status != "missed" else None,
                               number)
    last = session.scalar(select(CallLeg).where(
        CallLeg.contact_id.in_([c.id for c in contacts]),
        CallLeg.kind.in_([LegKind.BRIDGE_CONTACT, LegKind.CALL_IN_CONTACT]),
    ).order_by(CallLeg.id.desc()).limit(1))
    agent = session.get(User, last.agent_id) if last and last.agent_id else None
    available = agent is not None and _agent_available(session, agent)
    leg = new_leg(session, LegKind.CALLBACK, organization_id=org.id,
                  operation_id=last.operation_id if last else None,
                  agent_id=agent.id if agent else None, contact_id=contacts[0].id, sid=sid,
                  status="in-progress" if available else "missed")
    return _callback_steps(org, leg, agent if available else None, number)


def _callback_steps(org: Organization, leg: CallLeg, agent: User | None,
                    number: str) -> list[VoiceStep]:
    if agent is None:
        return [Say(_("Thank you for calling %(org)s. Nobody can take your call right now; "
                      "we will call you back.", org=org.name)), Hangup()]
    return [
        Say(_("Thank you for calling %(org)s. Connecting you.", org=org.name)),
        Dial(number=agent.phone_e164, caller_id=number,
             action=hook_url("telephony_hooks.callback_done", token=leg.token), timeout=20,
             number_url=hook_url("telephony_hooks.callback_whisper", token=leg.token),
             status_callback=None),
    ]


CALLBACK_CONFIRM_SECONDS = 10


def callback_whisper(session: Session, leg: CallLeg) -> list[VoiceStep]:
    """Said to the volunteer before the contact is connected: they press 1 to take the call,
    so that their own voicemail (which presses nothing) never takes it."""
    contact = session.get(Contact, leg.contact_id) if leg.contact_id else None
    name = contact.first_name if contact and contact.first_name else _("someone you called")
    accept = hook_url("telephony_hooks.callback_accept", token=leg.token)
    return [Gather(action=accept, num_digits=1, timeout=CALLBACK_CONFIRM_SECONDS, prompt=(
        Say(_("A call back from %(name)s. Press 1 to take it.", name=name)),)),
        Hangup()]


def callback_accept(session: Session, leg: CallLeg, digits: str) -> list[VoiceStep]:
    """The volunteer's key: 1 connects them (an empty reply ends the whisper); anything else
    leaves the call-back for the missed list."""
    if digits == "1" and leg.status != "missed":
        leg.state = {**(leg.state or {}), "accepted": True}
        return []
    return [Hangup()]


def callback_done(session: Session, leg: CallLeg, dial_status: str) -> list[VoiceStep]:
    """The call-back ended: taken by the volunteer (who pressed 1), or on the owners' missed
    list (not picked up, or picked up by a voicemail)."""
    if dial_status == "completed" and (leg.state or {}).get("accepted"):
        leg.status = "completed"
        return [Hangup()]
    leg.status = "missed"
    return [Say(_("Sorry, nobody can take your call right now; we will call you back.")),
            Hangup()]
