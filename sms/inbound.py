"""What happens when someone texts a campaign number: STOP/START/HELP, sign-up conversations."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.models import (
    Conversation,
    ConversationState,
    Direction,
    Message,
    Organization,
    utcnow,
)
from ringround.telephony_rules import (
    Keyword,
    classify_keyword,
    contacts_with_number,
    opt_in,
    opt_out,
    organization_for_number,
    organizations_sending_from,
)
from sms.language import contact_locale


def handle_inbound_text(session: Session, *, sid: str, remote: str, number: str, body: str,
                        default_number: str | None) -> list[str]:
    """Record an inbound text and act on it; returns the texts to reply with."""
    org = organization_for_number(session, number, default_number, remote)
    keyword = classify_keyword(body)
    # STOP reaches every organization that calls or texts from this number.
    senders = organizations_sending_from(session, number, default_number)
    if org is None:
        if keyword is Keyword.STOP and senders:
            for org_id in senders:
                _stop(session, org_id, remote)
            return [_("You will get no more calls or texts from this number.")]
        return []
    senders.add(org.id)
    contacts = contacts_with_number(session, org.id, remote)
    session.add(Message(
        organization_id=org.id, contact_id=contacts[0].id if contacts else None,
        direction=Direction.INBOUND, remote_e164=remote, campaign_number=number, body=body,
        kind="inbound", sid=sid or None, status="received",
    ))
    from sms.signup import awaiting_confirmation, continue_conversation

    if keyword is Keyword.START and awaiting_confirmation(session, org.id, remote):
        keyword = None  # YES confirms the sign-up in progress
    if keyword is not None:
        with force_locale(contact_locale(session, org, remote)):
            return [answer_keyword(session, org, remote, keyword, senders)]
    return continue_conversation(session, org, remote, body)


def _stop(session: Session, org_id: int, remote: str) -> None:
    opt_out(session, org_id, remote, "sms_stop")
    session.execute(
        update(Conversation).where(
            Conversation.organization_id == org_id, Conversation.remote_e164 == remote,
            Conversation.state == ConversationState.OPEN,
        ).values(state=ConversationState.CANCELLED, updated_at=utcnow())
    )


def answer_keyword(session: Session, org: Organization, remote: str, keyword: Keyword,
                   senders: set[int] | None = None) -> str:
    """Apply STOP, START or HELP, and say what happened. STOP applies to `org` and to every
    organization in `senders` (those that call or text from the same number); START only to
    `org`, so it never lifts an opt-out given to another organization."""
    org_ids = (senders or set()) | {org.id}
    if keyword is Keyword.STOP:
        for org_id in sorted(org_ids):
            _stop(session, org_id, remote)
        return _("%(org)s: you will get no more calls or texts from us. Reply START to undo.",
                 org=org.name)
    if keyword is Keyword.START:
        opt_in(session, org.id, remote, "sms_start")
        return _("%(org)s: you can hear from us again. Reply STOP to opt out.", org=org.name)
    return org.help_text or _(
        "%(org)s: reply STOP to get no more calls or texts, START to undo.", org=org.name
    )


def open_conversation(session: Session, org_id: int, remote: str) -> Conversation | None:
    """The person's sign-up conversation in progress, if any (and not expired)."""
    return session.scalar(
        select(Conversation).where(
            Conversation.organization_id == org_id, Conversation.remote_e164 == remote,
            Conversation.state == ConversationState.OPEN, Conversation.expires_at > utcnow(),
        ).order_by(Conversation.id.desc()).limit(1)
    )
