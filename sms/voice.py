"""Who answers a call to a campaign number: a contact calling back, or a volunteer calling in."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import CallInCode, User
from ringround.telephony_rules import contacts_with_number, organization_for_number
from sms.language import contact_locale, volunteer_locale
from sms.provider import get_provider
from sms.provider.steps import Hangup, Say, VoiceStep


def answer_inbound_call(session: Session, form: Mapping[str, str]) -> list[VoiceStep]:
    """A contact who was called from the line is routed back; anyone else is asked for a
    volunteer code (call-in mode)."""
    from sms.bridge import answer_callback
    from sms.callin import ask_code

    remote, number = form.get("From", ""), form.get("To", "")
    org = organization_for_number(session, number, get_provider().default_from, remote)
    if org is None:
        return [Say(_("This number is not in service. Goodbye.")), Hangup()]
    volunteer = session.scalar(select(User.id).join(CallInCode, CallInCode.user_id == User.id)
                               .where(User.phone_e164 == remote).limit(1))
    contacts = contacts_with_number(session, org.id, remote) if volunteer is None else []
    if contacts:
        with force_locale(contact_locale(session, org, remote)):
            return answer_callback(session, org, contacts, form.get("CallSid", ""), number)
    with force_locale(volunteer_locale(session, org, remote)):
        return ask_code(org)
