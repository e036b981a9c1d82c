"""Sending texts for the organization: opt-outs, consent and quiet hours are checked here."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import (
    Attempt,
    Contact,
    Direction,
    FollowUpTemplate,
    Message,
    Operation,
    Organization,
    User,
    utcnow,
)
from ringround.sms_segments import Segments, segments
from ringround.telephony_rules import has_sms_consent, may_contact, quiet_hours
from ringround.telephony_rules import opt_out as opt_out_everywhere
from sms.links import hook_url
from sms.provider import UNSUBSCRIBED_RECIPIENT, ProviderError, get_provider
from sms.telephony_numbers import default_number


class TextRefusedError(Exception):
    """A text that must not (or could not) be sent; the message is fit to show the user."""


def message_status_url() -> str:
    return hook_url("telephony_hooks.message_status")


def send_text(session: Session, org: Organization, to: str, body: str, *, kind: str,
              contact: Contact | None = None, operation: Operation | None = None,
              sent_by: User | None = None, template: FollowUpTemplate | None = None,
              now: datetime | None = None) -> Message:
    """Send a campaign text now, or raise TextRefusedError (opted out, quiet hours, refused)."""
    from flask_babel import gettext as _

    now = now or utcnow()
    if not may_contact(session, org.id, to):
        raise TextRefusedError(_("This person asked not to be contacted."))
    if quiet_hours(now, to, contact, org, operation):
        raise TextRefusedError(_("It is outside their local hours for texts; try later."))
    sender = default_number(org, operation)
    message = Message(
        organization_id=org.id, contact_id=contact.id if contact else None,
        direction=Direction.OUTBOUND, remote_e164=to, campaign_number=sender, body=body,
        kind=kind, status="queued", sent_by_id=sent_by.id if sent_by else None,
        template_id=template.id if template else None,
    )
    session.add(message)
    try:
        message.sid = get_provider().send_sms(to, body, sender, message_status_url())
    except ProviderError as error:
        message.status, message.error_code = "failed", error.code
        if error.code == UNSUBSCRIBED_RECIPIENT:
            opt_out_everywhere(session, org.id, to, "carrier_21610")
            session.flush()
            raise TextRefusedError(_("This person has unsubscribed from texts.")) from error
        current_app.logger.warning("text refused by provider: %s", error.code)
        session.flush()
        raise TextRefusedError(_("The text could not be sent.")) from error
    message.status = "sent"
    session.flush()
    return message


def followup_number(contact: Contact) -> str | None:
    """The number follow-up texts go to: the first mobile, else the first number."""
    phones = sorted(contact.phones, key=lambda p: (not p.is_mobile, p.position))
    return phones[0].e164 if phones else None


def render_followup(template: FollowUpTemplate, contact: Contact, agent: User) -> str:
    """The template's text with {first_name} and {agent_name} filled in."""
    return (template.body.replace("{first_name}", contact.first_name or "")
            .replace("{agent_name}", agent.display_name.split(" ")[0]))


# Names a follow-up is measured with: a GSM-7 one, and one that turns the text into UCS-2.
SAMPLE_NAMES = ("Maria", "Aïcha")


def measure_text(body: str) -> list[tuple[str | None, Segments]]:
    """The segments of a text as organizers type it; with {first_name} in it, once per sample
    name (a name like "Aïcha" or "Zoë" makes the whole text UCS-2)."""
    if "{first_name}" not in body:
        return [(None, segments(body.replace("{agent_name}", "Sam")))]
    return [(name, segments(body.replace("{first_name}", name).replace("{agent_name}", "Sam")))
            for name in SAMPLE_NAMES]


def send_followup(session: Session, template: FollowUpTemplate, attempt: Attempt,
                  agent: User, now: datetime | None = None) -> Message:
    """Send a follow-up after a call, only to a contact who agreed to texts and did not opt
    out; a second tap for the same call and template sends nothing new."""
    from flask_babel import gettext as _

    contact = session.get(Contact, attempt.contact_id) if attempt.contact_id else None
    operation = session.get(Operation, attempt.operation_id)
    if (contact is None or operation is None or not template.active
            or template.organization_id != operation.organization_id
            or template.operation_id not in (None, operation.id)):
        raise TextRefusedError(_("This follow-up is not available for this call."))
    already = session.scalar(select(Message).where(
        Message.template_id == template.id, Message.contact_id == contact.id,
        Message.created_at >= attempt.created_at, Message.status != "failed",
    ).limit(1))
    if already is not None:
        return already
    if not has_sms_consent(contact):
        raise TextRefusedError(_("This person did not agree to receive texts."))
    number = followup_number(contact)
    if number is None:
        raise TextRefusedError(_("This person has no number to text."))
    org = session.get(Organization, operation.organization_id)
    return send_text(session, org, number, render_followup(template, contact, agent),
                     kind="followup", contact=contact, operation=operation, sent_by=agent,
                     template=template, now=now)
