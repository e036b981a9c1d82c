"""Bridged calls through the campaign line, and contacts calling it back.

The campaign number rings the volunteer's own (verified) phone; on answer a short whisper
names the person, then the contact is dialled with the campaign number as caller ID. Neither
side sees the other's number, and webhook URLs carry only a leg's opaque token.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.background import enqueue_after_commit, job
from ringround.bridging import BridgeError, BridgeProgress
from ringround.extensions import db
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
from ringround.operation_fields import number_shown
from ringround.optouts import may_contact
from ringround.queue import start_attempt
from ringround.queue.checks import usable_phone
from ringround.quiet_hours import quiet_hours
from sms.jobs import defer
from sms.links import hook_url
from sms.pacing import take_slot
from sms.provider import ProviderError, get_provider
from sms.provider.steps import CallRequest, Dial, Gather, Hangup, Redirect, Say, VoiceStep
from sms.telephony_numbers import default_number
from sms.voice.legs import TERMINAL, is_machine, legs_of, new_leg, release_job

RING_SECONDS = 25


def _leased_target(session: Session, target_id: int, agent: User, now: datetime) -> Target:
    target = session.get(Target, target_id)
    if (target is None or target.state != TargetState.LEASED or target.leased_to_id != agent.id
            or target.lease_expires_at is None or target.lease_expires_at <= now):
        raise BridgeError(_("This person is not on your list any more."))
    return target


def prepare_bridged_call(session: Session, operation: Operation, agent: User, target_id: int,
                         client_id: str, now: datetime | None = None) -> CallLeg:
    """Check everything and record the attempt and its two legs (a new pair when the last
    call of this attempt is over); `queue_bridged_call` then places the call as a job once
    the caller commits (so the provider's first webhook finds them)."""
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
    existing = session.scalar(select(CallLeg).where(
        CallLeg.attempt_id == attempt.id, CallLeg.kind == LegKind.BRIDGE_AGENT,
    ).order_by(CallLeg.id.desc()).limit(1))
    if existing is not None and existing.status not in OVER:
        return existing  # the same tap sent twice, or the call still going
    # First tap, or a new tap after that call ended (dropped, failed): a new call.
    common = {"organization_id": org.id, "operation_id": operation.id,
              "attempt_id": attempt.id, "agent_id": agent.id, "contact_id": contact.id}
    agent_leg = new_leg(session, LegKind.BRIDGE_AGENT, **common)
    new_leg(session, LegKind.BRIDGE_CONTACT, parent_id=agent_leg.id, **common)
    return agent_leg


def queue_bridged_call(session: Session, agent_leg: CallLeg) -> None:
    """Place the call as a job once the caller commits (it waits for a slot of the account's
    calls per second; nothing sleeps in the request)."""
    if agent_leg.status == QUEUED:
        enqueue_after_commit(session, place_call_job, agent_leg.id)


# An agent leg waits in the queue (queued), is being placed (placing), rings the volunteer
# (ringing, in-progress), or is over: then a new tap places a new call.
QUEUED, PLACING = "queued", "placing"
OVER = {*TERMINAL, "ended", "missed"}
# Transient refusals (20429, 5xx) are tried again this many times, a few seconds apart.
CALL_RETRIES = 2


@job(retries=CALL_RETRIES, retry_delay=2, retry_backoff=2, context=True)
def place_call_job(leg_id: int, task=None) -> None:
    """Ask the provider to ring the volunteer's phone from the campaign number. Idempotent
    and at most once: the leg is claimed (`placing`, committed) before the provider is asked;
    reconciliation ends a leg left `placing` by a killed worker."""
    leg = db.session.get(CallLeg, leg_id)
    if leg is None or leg.sid or leg.status != QUEUED:
        return
    provider = get_provider()
    take_slot("calls", provider.calls_per_second)
    claimed = db.session.execute(update(CallLeg).where(
        CallLeg.id == leg_id, CallLeg.status == QUEUED).values(status=PLACING)).rowcount
    db.session.commit()
    if not claimed:
        return
    operation = db.session.get(Operation, leg.operation_id)
    org = db.session.get(Organization, leg.organization_id)
    agent = db.session.get(User, leg.agent_id)
    try:
        sid = provider.place_call(CallRequest(
            to=agent.phone_e164, from_number=default_number(org, operation),
            answer_url=hook_url("telephony_hooks.bridge_answer", token=leg.token),
            status_callback=hook_url("telephony_hooks.call_status", token=leg.token),
            timeout=RING_SECONDS,
        ))
    except ProviderError as error:
        if error.transient and not error.unreachable and task is not None and task.retries:
            leg.status, leg.error_code = QUEUED, error.code
            db.session.commit()
            raise
        _not_placed(leg, error)
        return
    except Exception as error:  # a bug here must not leave the volunteer "calling…"
        db.session.rollback()
        _not_placed(db.session.get(CallLeg, leg_id), ProviderError(repr(error)))
        db.session.commit()
        raise
    leg.sid, leg.status, leg.error_code = sid, "ringing", None


def _not_placed(leg: CallLeg, error: ProviderError) -> None:
    """The provider could not place the call: the leg and attempt say why; the person stays
    on the volunteer's card (to call from their own phone where the operation allows it, else
    to tap again)."""
    reason = ("unreachable" if error.transient else
              "bad_agent_number" if error.bad_number else "refused")
    leg.status, leg.error_code, leg.ended_at = "failed", error.code, utcnow()
    leg.state = {**(leg.state or {}), "failure": reason}
    attempt = db.session.get(Attempt, leg.attempt_id) if leg.attempt_id else None
    if attempt is not None and attempt.recorded_at is None:
        attempt.provider_status = f"line_{reason}"[:32]
    current_app.logger.warning("bridged call not placed: %s (%s)", reason, error.code)


def last_agent_leg(session: Session, operation_id: int, agent_id: int, target_id: int,
                   client_id: str) -> CallLeg | None:
    """The latest bridged call of this volunteer for this card (its attempt's client id)."""
    return session.scalar(select(CallLeg).join(Attempt, Attempt.id == CallLeg.attempt_id).where(
        Attempt.client_id == client_id, Attempt.operation_id == operation_id,
        Attempt.agent_id == agent_id, Attempt.target_id == target_id,
        CallLeg.kind == LegKind.BRIDGE_AGENT,
    ).order_by(CallLeg.id.desc()).limit(1))


def bridge_progress(leg: CallLeg, own_phone: bool = True) -> BridgeProgress:
    """How a bridged call stands, in the caller's words. A call not placed points to the
    caller's own phone only when the operation allows it (`own_phone`): with the campaign
    line only, the card has no number to dial."""
    if leg.status in (QUEUED, PLACING):
        return BridgeProgress(True, True, _("Calling your phone…"))
    if leg.status == "failed" and not leg.sid:
        return BridgeProgress(False, False, _not_placed_words(
            (leg.state or {}).get("failure"), own_phone))
    if leg.status in OVER:
        return BridgeProgress(True, False, _("The call has ended."))
    return BridgeProgress(True, False, _("Your phone is ringing: pick up to be connected."))


def _not_placed_words(reason: str | None, own_phone: bool) -> str:
    if reason == "bad_agent_number":
        if own_phone:
            return _("The campaign line cannot reach your phone number; check it, or call "
                     "from your phone instead.")
        return _("The campaign line cannot reach your phone number; check it, then try again.")
    if reason == "refused":
        if own_phone:
            return _("The campaign line could not place the call; call from your phone "
                     "instead.")
        return _("The campaign line could not place the call; try again in a moment.")
    if own_phone:
        return _("The campaign line is not answering; call from your phone instead.")
    return _("The campaign line is not answering; try again in a moment.")


def _own_phone(session: Session, operation_id: int | None) -> bool:
    """Whether the operation's callers may dial themselves (the caller's request loaded the
    operation already: found in the session, no query)."""
    operation = session.get(Operation, operation_id) if operation_id is not None else None
    return operation is None or number_shown(operation)


class SmsCampaignLine:
    """The campaign line as the caller app sees it (`ringround.bridging.CampaignLine`)."""

    def place(self, session: Session, operation: Operation, agent: User, target_id: int,
              client_id: str) -> CallLeg:
        leg = prepare_bridged_call(session, operation, agent, target_id, client_id)
        queue_bridged_call(session, leg)
        return leg

    def progress(self, session: Session, call: CallLeg) -> BridgeProgress:
        # The caller's views keep objects across commits; the job may have run already.
        session.refresh(call)
        return bridge_progress(call, _own_phone(session, call.operation_id))

    def last(self, session: Session, operation_id: int, agent_id: int, target_id: int,
             client_id: str) -> BridgeProgress | None:
        leg = last_agent_leg(session, operation_id, agent_id, target_id, client_id)
        if leg is None:
            return None
        return bridge_progress(leg, _own_phone(session, operation_id))

    def number(self, session: Session, operation: Operation) -> str | None:
        return default_number(session.get(Organization, operation.organization_id), operation)


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
    org = session.get(Organization, agent_leg.organization_id)
    confirm = hook_url("telephony_hooks.bridge_confirm", token=agent_leg.token)
    return [
        # The organization's name, as the volunteer knows the campaign (call-in says it too).
        Gather(action=confirm, num_digits=1, timeout=CONFIRM_SECONDS, prompt=(
            Say(_("%(org)s. Press 1 to call %(name)s.", org=org.name if org else "",
                  name=name)),)),
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
    contact_leg = next((leg for leg in legs_of(session, agent_leg)
                        if leg.kind == LegKind.BRIDGE_CONTACT), None)
    if contact_leg is not None and is_machine(contact_leg.answered_by):
        text = _("That was an answering machine. It is recorded; on to the next one.")
    elif dial_status in DIAL_OUTCOMES:
        text = _("%(outcome)s It is recorded.", outcome=DIAL_OUTCOMES[dial_status])
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
