"""Who answers a call to a campaign number: a contact calling back, a volunteer calling in,
or someone else who was called from the line (on the shared default number, maybe by one of
several organizations: they can still opt out of them all)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.call_in_codes import CALL_IN_CODE_DIGITS
from ringround.campaign_numbers import organization_for_number, organizations_sending_from
from ringround.models import CallInCode, CallLeg, LegKind, Organization, User
from ringround.optouts import contacts_with_number
from ringround.sms_keywords import Keyword, recognize
from sms.inbound import stop
from sms.language import contact_locale, volunteer_locale
from sms.links import hook_url
from sms.provider import get_provider
from sms.provider.steps import Gather, Hangup, Say, VoiceStep
from sms.voice.bridge import answer_callback
from sms.voice.call_in import ask_code, check_code
from sms.voice.legs import new_leg

CALL_BACK_KEY, STOP_KEY = "1", "9"
MENU_TRIES = 2


def _organization(session: Session, form: Mapping[str, str]) -> Organization | None:
    return organization_for_number(session, form.get("To", ""), get_provider().default_from,
                                   form.get("From", ""))


def _senders(session: Session, form: Mapping[str, str]) -> set[int]:
    """The organizations that may have called or texted the caller from this number."""
    return organizations_sending_from(session, form.get("To", ""), get_provider().default_from)


def _not_in_service() -> list[VoiceStep]:
    return [Say(_("This number is not in service. Goodbye.")), Hangup()]


def answer_inbound_call(session: Session, form: Mapping[str, str]) -> list[VoiceStep]:
    """A contact who was called from the line is routed back; a volunteer with a call-in code
    is asked for it; anyone else hears who we are and what they can do (`unknown_caller`)."""
    remote, number = form.get("From", ""), form.get("To", "")
    org = _organization(session, form)
    if org is None:
        # The shared default number, and the caller known to none of its organizations.
        return unknown_caller(None) if _senders(session, form) else _not_in_service()
    volunteer = session.scalar(select(User.id).join(CallInCode, CallInCode.user_id == User.id)
                               .where(User.phone_e164 == remote).limit(1))
    if volunteer is not None:
        with force_locale(volunteer_locale(session, org, remote)):
            return ask_code(org)
    contacts = contacts_with_number(session, org.id, remote)
    if contacts:
        with force_locale(contact_locale(session, org, remote)):
            return answer_callback(session, org, contacts, form.get("CallSid", ""), number)
    with force_locale(contact_locale(session, org, remote)):  # nobody known: the org's
        return unknown_caller(org)


def unknown_caller(org: Organization | None, tries: int = 0) -> list[VoiceStep]:
    """Someone who is neither a known contact nor a volunteer: say who calls from this number;
    1 leaves their number for a call-back, 9 (or saying stop) opts out. A volunteer calling
    from another phone may still key in their code. `org` None: the shared default number,
    whose organization is not known: no call-back (for whom?), and 9 opts out of them all."""
    if org is None:
        intro = _("You have reached a phone line that several organizations call from. We may "
                  "have called you from this number.") + " " if not tries else ""
        menu = _("To get no more calls or texts from this number, press 9 or say stop. "
                 "Volunteers, enter your caller code.")
        goodbye = _("Thank you for calling. Goodbye.")
    else:
        intro = _("You have reached the phone line of %(org)s. We may have called you from "
                  "this number.", org=org.name) + " " if not tries else ""
        menu = _("To be called back, press 1. To get no more calls or texts from us, press 9 "
                 "or say stop. Volunteers, enter your caller code.")
        goodbye = _("Thank you for calling %(org)s. Goodbye.", org=org.name)
    return [
        Gather(action=hook_url("telephony_hooks.unknown_caller_choice", tries=tries),
               num_digits=CALL_IN_CODE_DIGITS, timeout=6, speech=True,
               prompt=(Say(intro + menu),)),
        Say(goodbye), Hangup(),
    ]


def unknown_caller_choice(session: Session, form: Mapping[str, str], tries: int
                          ) -> list[VoiceStep]:
    """What the caller keyed or said at the `unknown_caller` menu."""

    org = _organization(session, form)
    if org is None:
        return _unknown_caller_choice(session, None, form, tries) if _senders(session, form) \
            else _not_in_service()
    with force_locale(contact_locale(session, org, form.get("From", ""))):
        return _unknown_caller_choice(session, org, form, tries)


def _unknown_caller_choice(session: Session, org: Organization | None,
                           form: Mapping[str, str], tries: int) -> list[VoiceStep]:
    digits, sid, remote = form.get("Digits", ""), form.get("CallSid", ""), form.get("From", "")
    if len(digits) == CALL_IN_CODE_DIGITS:
        return check_code(session, digits, 0, sid, remote)
    if digits == STOP_KEY or recognize(form.get("SpeechResult")).keyword is Keyword.STOP:
        for org_id in sorted(_senders(session, form) | ({org.id} if org else set())):
            stop(session, org_id, remote, "voice_stop")
        if org is None:
            return [Say(_("You will get no more calls or texts from this number. Goodbye.")),
                    Hangup()]
        return [Say(_("You will get no more calls or texts from us. Goodbye.")), Hangup()]
    if org is None:  # no call-back on a line of several organizations
        if tries + 1 >= MENU_TRIES:
            return [Say(_("Thank you for calling. Goodbye.")), Hangup()]
        return unknown_caller(None, tries + 1)
    if digits == CALL_BACK_KEY:
        _ask_for_call_back(session, org, sid, remote)
        return [Say(_("Thank you. Someone will call you back at this number. Goodbye.")),
                Hangup()]
    if tries + 1 >= MENU_TRIES:
        return [Say(_("Thank you for calling %(org)s. Goodbye.", org=org.name)), Hangup()]
    return unknown_caller(org, tries + 1)


def _ask_for_call_back(session: Session, org: Organization, sid: str, remote: str) -> None:
    """A missed call-back entry organizers see, with the number to call (once per call)."""
    if sid and session.scalar(select(CallLeg.id).where(CallLeg.sid == sid)) is not None:
        return
    new_leg(session, LegKind.CALLBACK, organization_id=org.id, sid=sid or None,
            status="missed", state={"number": remote, "asked": True})
