"""What happens when someone texts a campaign number: STOP/START/HELP, sign-up conversations."""

from __future__ import annotations

import logging

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from ringround.campaign_numbers import organization_for_number, organizations_sending_from
from ringround.models import (
    Conversation,
    ConversationState,
    Direction,
    Message,
    Organization,
    utcnow,
)
from ringround.optouts import contacts_with_number, is_opted_out, opt_in, opt_out
from ringround.sms_keywords import Keyword, provider_answers, recognize
from sms.keyword_signup import awaiting_confirmation, continue_conversation, open_conversation
from sms.language import contact_locale

log = logging.getLogger(__name__)
KINDS = {Keyword.STOP: "optout", Keyword.START: "optin", Keyword.HELP: "help"}
# An inbound text no rule was sure about waits on the Phone line page with this status.
TO_READ = "to_read"


def handle_inbound_text(session: Session, *, sid: str, remote: str, number: str, body: str,
                        default_number: str | None, provider_replies: bool = False
                        ) -> list[str]:
    """Record an inbound text and act on it; returns the texts to reply with.

    `provider_replies`: the provider answers its own STOP/HELP words (Twilio Advanced
    Opt-Out), so those get no second reply here; what they ask is recorded all the same."""
    org = organization_for_number(session, number, default_number, remote)
    found = recognize(body)
    if found.keyword or found.unclear:
        log.info("inbound text %s recognized as %s by rule %s", sid or "-",
                 found.keyword or "unclear", found.rule)
    keyword = found.keyword
    silent = provider_replies and provider_answers(body)
    # STOP reaches every organization that calls or texts from this number.
    senders = organizations_sending_from(session, number, default_number)
    if org is None:
        if keyword is Keyword.STOP and senders:
            for org_id in senders:
                stop(session, org_id, remote)
            return [] if silent else [_("You will get no more calls or texts from this number.")]
        return []
    senders.add(org.id)
    contacts = contacts_with_number(session, org.id, remote)
    message = Message(
        organization_id=org.id, contact_id=contacts[0].id if contacts else None,
        direction=Direction.INBOUND, remote_e164=remote, campaign_number=number, body=body,
        kind=KINDS.get(keyword, "inbound"), sid=sid or None, status="received",
    )
    session.add(message)
    if keyword is Keyword.START and awaiting_confirmation(session, org.id, remote):
        keyword = None  # YES confirms the sign-up in progress
    if keyword is not None:
        with force_locale(contact_locale(session, org, remote)):
            reply = answer_keyword(session, org, remote, keyword, senders)
        return [] if silent else [reply]
    if found.unclear and open_conversation(session, org.id, remote) is None:
        message.status = TO_READ  # an organizer reads it rather than the app guessing
        return []
    if is_opted_out(session, org.id, remote):
        return []  # after STOP nothing starts (no sign-up) until START
    return continue_conversation(session, org, remote, body)


def stop(session: Session, org_id: int, remote: str, source: str = "sms_stop") -> None:
    """The person asked to stop (by text or by voice): opt out, end any sign-up in progress."""
    opt_out(session, org_id, remote, source)
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
            stop(session, org_id, remote)
        return _("%(org)s: you will get no more calls or texts from us. Reply START to undo.",
                 org=org.name)
    if keyword is Keyword.START:
        opt_in(session, org.id, remote, "sms_start")
        return _("%(org)s: you can hear from us again. Reply STOP to opt out.", org=org.name)
    return org.help_text or _(
        "%(org)s: reply STOP to get no more calls or texts, START to undo.", org=org.name
    )

