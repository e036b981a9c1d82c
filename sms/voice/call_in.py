"""Call-in mode: a volunteer dials the campaign number, keys in a code and stays on the line;
the system dials eligible people one after another and the keypad records each result.

Keys: 1 talked to the right person, 2 no contact, 3 remove the number; then, when the
operation has several codes in that group (e.g. "Not home", "Busy"... or a code organizers
added), one key for the code; then one key per choice question; `#` next call, `*` ends the
shift (and `*` during a call leaves it).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.call_in_codes import CodeOutcome, enter_code
from ringround.call_in_limits import CodeLimits
from ringround.calling import caller_dispositions
from ringround.dispositions import Disposition
from ringround.models import (
    Attempt,
    CallLeg,
    CallMethod,
    Contact,
    DispositionGroup,
    LegKind,
    Operation,
    Organization,
    User,
    utcnow,
)
from ringround.questionnaires import choice_label
from ringround.queue import apply_provider_status, lease_next, release_target, start_attempt
from ringround.queue.accept import accept_result
from sms.links import hook_url
from sms.provider.steps import Dial, Gather, Hangup, Redirect, Say, VoiceStep
from sms.telephony_numbers import default_number
from sms.voice.legs import new_leg

KEY_GROUPS = {"1": DispositionGroup.CONTACTED, "2": DispositionGroup.NO_CONTACT,
              "3": DispositionGroup.REMOVE}
MAX_CODE_TRIES = 3
MAX_SILENCE = 3  # prompts in a row met with silence before the shift ends
KEYPAD_TYPES = ("choice", "yes_no", "scale")


def url(endpoint: str, leg: CallLeg, **values) -> str:
    return hook_url(f"telephony_hooks.{endpoint}", token=leg.token, **values)


def ask_code(org: Organization | None, tries: int = 0) -> list[VoiceStep]:
    """Welcome, and the prompt for the volunteer's code."""
    welcome = (_("Welcome to %(org)s.", org=org.name) + " ") if org and not tries else ""
    return [
        Gather(action=hook_url("telephony_hooks.callin_code", tries=tries), num_digits=6,
               timeout=10, prompt=(Say(welcome + _("Please enter your six-digit caller code.")),)),
        Say(_("We did not get a code. Goodbye.")), Hangup(),
    ]


def code_limits() -> CodeLimits:
    """The limits of wrong codes, from the settings (README, "Configuration")."""
    config = current_app.config
    return CodeLimits(config["CALL_IN_FAILED_CODES_PER_NUMBER"],
                      config["CALL_IN_FAILED_CODES_PER_INSTANCE"])


def check_code(session: Session, digits: str, tries: int, sid: str, remote: str
               ) -> list[VoiceStep]:
    """A keyed-in code: start the shift, ask again (three tries), or say why not and hang up
    (the code expired; too many wrong codes: `enter_code` decides)."""
    started = session.scalar(select(CallLeg).where(CallLeg.sid == sid)) if sid else None
    if started is not None and started.kind == LegKind.CALL_IN:  # Twilio retried the request
        return [Redirect(url("callin_next", started))]
    entry = enter_code(session, digits, remote, code_limits())
    if entry.outcome is CodeOutcome.LOCKED:
        return [Say(_("Too many wrong codes were keyed. Please try again later. Goodbye.")),
                Hangup()]
    if entry.outcome is CodeOutcome.EXPIRED:
        return [Say(_("That code has expired. Ask your organizer for a new code, or get one "
                      "on the call-in page. Goodbye.")), Hangup()]
    if entry.outcome is CodeOutcome.WRONG:
        if tries + 1 >= MAX_CODE_TRIES:
            return [Say(_("That code is not valid. Goodbye.")), Hangup()]
        return [Say(_("That code is not valid.")), *ask_code(None, tries + 1)]
    operation = session.get(Operation, entry.operation_id)
    shift = new_leg(session, LegKind.CALL_IN, organization_id=operation.organization_id,
                    operation_id=operation.id, agent_id=entry.user_id, sid=sid or None,
                    status="in-progress", state={"calls": 0})
    return [Say(_("Thank you. Your shift in %(op)s starts now. Press star during a call to "
                  "leave it.", op=operation.name)), Redirect(url("callin_next", shift))]


def next_call(session: Session, shift: CallLeg) -> list[VoiceStep]:
    """Lease the next eligible person and dial them into the volunteer's call."""
    operation = session.get(Operation, shift.operation_id)
    agent = session.get(User, shift.agent_id)
    if shift.status in ("completed", "ended") or agent is None:
        return [Hangup()]
    lease = lease_next(session, operation, agent, max_open=1)
    if lease is None:
        shift.status = "ended"
        return [Say(_("There is nobody left to call right now. Thank you for your time!")),
                Hangup()]
    calls = int((shift.state or {}).get("calls", 0)) + 1
    attempt = start_attempt(session, f"callin-{shift.token}-{calls}", operation.id,
                            lease.target_id, agent.id, CallMethod.CALL_IN)
    attempt.phone_id = lease.phone_id
    contact = session.get(Contact, lease.contact_id)
    org = session.get(Organization, operation.organization_id)
    leg = new_leg(session, LegKind.CALL_IN_CONTACT, organization_id=org.id,
                  operation_id=operation.id, attempt_id=attempt.id, agent_id=agent.id,
                  contact_id=contact.id, parent_id=shift.id)
    shift.state = {"calls": calls, "attempt_id": attempt.id, "target_id": lease.target_id}
    return [
        Say(_("Calling %(name)s.", name=contact.first_name or _("the next person"))),
        Dial(number=lease.phone_e164, caller_id=default_number(org, operation),
             action=url("callin_dialed", shift), timeout=25, hangup_on_star=True,
             status_callback=hook_url("telephony_hooks.call_status", token=leg.token)),
    ]


def _continue_prompt(shift: CallLeg, before: str) -> list[VoiceStep]:
    return [Gather(action=url("callin_continue", shift), num_digits=1, timeout=15,
                   prompt=(Say(before + " " + _("Press pound for the next call, or star to "
                                                "end your shift.")),)),
            Redirect(url("callin_continue", shift))]


def _result_prompt(shift: CallLeg) -> list[VoiceStep]:
    return [Gather(action=url("callin_result", shift), num_digits=1, timeout=15,
                   prompt=(Say(_("Press 1 if you talked to the right person, 2 for no "
                                 "contact, 3 to remove this number.")),)),
            Redirect(url("callin_result", shift))]


def _silence(session: Session, shift: CallLeg, digits: str) -> list[VoiceStep] | None:
    """Count the prompts met with silence in a row; after MAX_SILENCE the shift ends politely
    (an unrecorded person goes back in line). None while the call goes on."""
    state = dict(shift.state or {})
    if digits:
        if "silence" in state:
            shift.state = {key: value for key, value in state.items() if key != "silence"}
        return None
    silence = int(state.get("silence", 0)) + 1
    if silence < MAX_SILENCE:
        shift.state = {**state, "silence": silence}
        return None
    _drop_unrecorded(session, shift)
    shift.status = "ended"
    return [Say(_("We did not hear a key, so we are ending your shift here. Thank you for "
                  "calling today. Goodbye!")), Hangup()]


def dialed(session: Session, shift: CallLeg, dial_status: str) -> list[VoiceStep]:
    """The person's side ended: key in the result, or (not reached) on to the next."""
    if dial_status in ("completed", "") or dial_status is None:
        return _result_prompt(shift)
    attempt_id = (shift.state or {}).get("attempt_id")
    attempt = session.get(Attempt, attempt_id) if attempt_id else None
    if attempt is not None:
        # Applied here (not after the answer) so the next lease never picks them again.
        apply_provider_status(session, attempt, dial_status)
        shift.state = {"calls": shift.state.get("calls", 0)}
    outcome = {"busy": _("The line was busy."), "no-answer": _("Nobody answered.")}.get(
        dial_status, _("The call did not go through."))
    return _continue_prompt(shift, outcome)


def _keypad_questions(questionnaire: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [q for q in (questionnaire or {}).get("questions") or []
            if q.get("type") in KEYPAD_TYPES]


def _question(operation: Operation, question_id: str | None) -> dict[str, Any] | None:
    for q in (operation.questionnaire or {}).get("questions") or []:
        if q.get("id") == question_id:
            return q
    return None


def _ask(shift: CallLeg, question: dict[str, Any]) -> list[VoiceStep]:
    if question.get("type") == "scale":
        lo, hi = int(question.get("min", 1)), int(question.get("max", 5))
        options = _("Press a number from %(lo)s to %(hi)s.", lo=lo, hi=hi)
    else:
        options = " ".join(_("Press %(n)s for %(label)s.", n=i, label=choice_label(question, c))
                           for i, c in enumerate(question.get("choices") or [], start=1))
    return [Gather(action=url("callin_answer", shift, question=question["id"]), num_digits=1,
                   timeout=15, prompt=(Say(f"{question.get('text', '')} {options}"),)),
            Redirect(url("callin_answer", shift, question=question["id"]))]


def _next_question(operation: Operation, question: dict[str, Any] | None,
                   choice: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow the questionnaire's branches, skipping questions a keypad cannot answer."""
    questions = (operation.questionnaire or {}).get("questions") or []
    if question is None:
        nxt = questions[0]["id"] if questions else None
    else:
        nxt = (choice or {}).get("next") or question.get("next")
    seen = set()
    while nxt and nxt != "end" and nxt not in seen:
        seen.add(nxt)
        found = _question(operation, nxt)
        if found is None:
            return None
        if found.get("type") in KEYPAD_TYPES:
            return found
        nxt = found.get("next")
    return None


def keyed_result(session: Session, shift: CallLeg, digit: str) -> list[VoiceStep]:
    """1, 2 or 3: the result group; then the code within it (when there are several), and
    after talking to the person, the questionnaire by keypad."""
    if digit not in KEY_GROUPS:
        return _silence(session, shift, digit) or _result_prompt(shift)
    _silence(session, shift, digit)
    operation = session.get(Operation, shift.operation_id)
    group = KEY_GROUPS[digit]
    codes = caller_dispositions(operation)[group]
    if len(codes) > 1:
        shift.state = {**shift.state, "group": group.value}
        return _ask_code(shift, codes)
    return _with_code(session, shift, operation, codes[0])


def _ask_code(shift: CallLeg, codes: list[Disposition]) -> list[VoiceStep]:
    """One key per code of the group (two keys and pound past nine codes)."""
    many = len(codes) > 9
    options = " ".join(_("Press %(n)s for %(label)s.", n=i, label=str(code.label))
                       for i, code in enumerate(codes, start=1))
    if many:
        options += " " + _("Then press pound.")
    return [Gather(action=url("callin_code_choice", shift), num_digits=2 if many else 1,
                   finish_on_key="#" if many else "", timeout=15, prompt=(Say(options),)),
            Redirect(url("callin_code_choice", shift))]


def keyed_code(session: Session, shift: CallLeg, digits: str) -> list[VoiceStep]:
    """The key choosing a code within the group keyed before."""
    operation = session.get(Operation, shift.operation_id)
    try:
        group = DispositionGroup((shift.state or {}).get("group"))
    except ValueError:
        return _result_prompt(shift)
    codes = caller_dispositions(operation)[group]
    digits = (digits or "").strip("#")
    if not digits.isdigit() or not 1 <= int(digits) <= len(codes):
        return _silence(session, shift, digits) or _ask_code(shift, codes)
    _silence(session, shift, digits)
    return _with_code(session, shift, operation, codes[int(digits) - 1])


def _with_code(session: Session, shift: CallLeg, operation: Operation,
               code: Disposition) -> list[VoiceStep]:
    state = {key: value for key, value in (shift.state or {}).items() if key != "group"}
    shift.state = {**state, "disposition": code.code, "answers": {}}
    if code.group == DispositionGroup.CONTACTED:
        question = _next_question(operation, None, None)
        if question is not None:
            return _ask(shift, question)
    return record(session, shift)


def keyed_answer(session: Session, shift: CallLeg, question_id: str, digit: str
                 ) -> list[VoiceStep]:
    """One key for one question, then the next question (following branches) or save."""
    operation = session.get(Operation, shift.operation_id)
    question = _question(operation, question_id)
    if question is None or "disposition" not in (shift.state or {}):
        return record(session, shift)
    choice, value = None, None
    if question.get("type") == "scale":
        lo, hi = int(question.get("min", 1)), int(question.get("max", 5))
        if digit.isdigit() and lo <= int(digit) <= hi:
            value = int(digit)
    else:
        choices = question.get("choices") or []
        if digit.isdigit() and 1 <= int(digit) <= len(choices):
            choice = choices[int(digit) - 1]
            value = choice.get("value")
    if value is None:
        return _silence(session, shift, digit) or _ask(shift, question)
    _silence(session, shift, digit)
    shift.state = {**shift.state, "answers": {**shift.state.get("answers", {}),
                                              question["id"]: value}}
    following = _next_question(operation, question, choice)
    if following is not None:
        return _ask(shift, following)
    return record(session, shift)


def record(session: Session, shift: CallLeg) -> list[VoiceStep]:
    """Save the keyed result by the rule every result follows (`accept_result`; idempotent
    by the attempt's client id)."""
    state = dict(shift.state or {})
    attempt = session.get(Attempt, state.get("attempt_id")) if state.get("attempt_id") else None
    if attempt is None or "disposition" not in state:
        return _continue_prompt(shift, "")
    operation = session.get(Operation, attempt.operation_id)
    accepted = accept_result(session, operation=operation, agent_id=shift.agent_id, payload={
        "client_id": attempt.client_id, "target_id": state["target_id"],
        "disposition": state["disposition"], "answers": state.get("answers") or {},
        "method": CallMethod.CALL_IN.value, "ended_at": utcnow().isoformat(),
    }, proof_key=None)
    if not accepted.accepted:
        return _continue_prompt(shift, _("That result could not be saved."))
    shift.state = {"calls": state.get("calls", 0)}
    return _continue_prompt(shift, _("Saved."))


def _drop_unrecorded(session: Session, shift: CallLeg) -> None:
    """A call left without a keyed result: its person goes back in line."""
    state = dict(shift.state or {})
    attempt = session.get(Attempt, state.get("attempt_id")) if state.get("attempt_id") else None
    agent = session.get(User, shift.agent_id)
    if attempt is not None and attempt.recorded_at is None and agent is not None:
        release_target(session, state["target_id"], agent, reason="skip")
    shift.state = {"calls": state.get("calls", 0)}


def keyed_continue(session: Session, shift: CallLeg, digit: str) -> list[VoiceStep]:
    """# for the next call, * to end the shift (silence three times ends it too)."""
    if digit == "#":
        _drop_unrecorded(session, shift)
        return [Redirect(url("callin_next", shift))]
    idle = int((shift.state or {}).get("idle", 0)) + (0 if digit else 1)
    if digit == "*" or idle >= 3:
        _drop_unrecorded(session, shift)
        shift.status = "ended"
        return [Say(_("Thank you for calling today. Goodbye!")), Hangup()]
    shift.state = {**shift.state, "idle": idle}
    return _continue_prompt(shift, "")
