"""Sending texts for the organization: opt-outs, consent and quiet hours are checked here;
the text itself goes out as a queue job (`deliver_text`), paced per sending number, retried
with backoff when the provider is unreachable or busy, and sent at most once.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.background import enqueue_after_commit, job
from ringround.bad_numbers import mark_number_bad
from ringround.extensions import db
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
from ringround.optouts import may_text, opt_out
from ringround.quiet_hours import quiet_hours
from ringround.sealed import unseal
from ringround.sms_consent import has_sms_consent
from ringround.sms_segments import Segments, segments
from ringround.status_order import MESSAGE_RANKS, moves_forward
from sms.jobs import defer, follow_up
from sms.links import hook_url
from sms.pacing import take_slot
from sms.provider import (
    BAD_NUMBER_CODES,
    UNSUBSCRIBED_RECIPIENT,
    ProviderError,
    get_provider,
)
from sms.telephony_numbers import default_number

# A text's states: queued (its job will send it), dispatching (claimed by a job, which
# asks the provider: never sent again by another), sent (the provider took it; delivery
# reports follow), failed.
QUEUED, DISPATCHING, SENT, FAILED = "queued", "dispatching", "sent", "failed"


class TextRefusedError(Exception):
    """A text that must not (or could not) be sent; the message is fit to show the user."""


def message_status_url() -> str:
    return hook_url("telephony_hooks.message_status")


def send_text(session: Session, org: Organization, to: str, body: str, *, kind: str,
              contact: Contact | None = None, operation: Operation | None = None,
              sent_by: User | None = None, template: FollowUpTemplate | None = None,
              now: datetime | None = None) -> Message:
    """Queue a campaign text (sent by a job once the caller commits), or raise
    TextRefusedError (opted out, quiet hours)."""
    now = now or utcnow()
    if not may_text(session, org.id, to):
        raise TextRefusedError(_("This person asked not to be contacted."))
    if quiet_hours(now, to, contact, org, operation):
        raise TextRefusedError(_("It is outside their local hours for texts; try later."))
    message = Message(
        organization_id=org.id, contact_id=contact.id if contact else None,
        direction=Direction.OUTBOUND, remote_e164=to,
        campaign_number=default_number(org, operation), body=body, kind=kind, status=QUEUED,
        sent_by_id=sent_by.id if sent_by else None,
        template_id=template.id if template else None,
    )
    session.add(message)
    session.flush()
    enqueue_after_commit(session, deliver_text, message.id)
    return message


def refusal_of(message: Message) -> str | None:
    """Why a text failed, in words for the person who sent it (None unless it failed)."""
    if message.status != FAILED:
        return None
    if message.error_code == UNSUBSCRIBED_RECIPIENT:
        return _("This person has unsubscribed from texts.")
    if message.error_code in BAD_NUMBER_CODES:
        return _("This number cannot receive texts; it is marked as a wrong number.")
    return _("The text could not be sent.")


@job(retries=6, retry_delay=20, retry_backoff=2, context=True)
def deliver_text(message_id: int, task=None) -> None:
    """Send one queued text. Idempotent and at most once: the text is claimed (`dispatching`,
    committed) before the provider is asked, so a run after a crash never sends it again
    (reconciliation marks a text left `dispatching` failed). Unreachable, 20429 and 5xx answers
    put it back in the queue for a later try (backoff); other refusals fail it for good."""
    message = db.session.get(Message, message_id)
    if message is None or message.status != QUEUED or message.sid:
        return
    if message.organization_id and not may_text(db.session, message.organization_id,
                                                message.remote_e164):
        message.status = FAILED  # opted out while it waited
        return
    sender = message.campaign_number or get_provider().default_from or ""
    take_slot(f"texts:{sender}", current_app.config["TEXTS_PER_SECOND"])
    claimed = db.session.execute(update(Message).where(
        Message.id == message_id, Message.status == QUEUED).values(status=DISPATCHING)).rowcount
    db.session.commit()
    if not claimed:
        return
    try:
        sid = get_provider().send_sms(message.remote_e164, message.body, sender or None,
                                      message_status_url())
    except ProviderError as error:
        last_try = task is None or not task.retries
        if error.transient and not last_try:
            message.status, message.error_code = QUEUED, error.code
            db.session.commit()
            raise
        _failed(message, error)
        return
    message.sid, message.status, message.error_code = sid, SENT, None


def _failed(message: Message, error: ProviderError) -> None:
    """A text refused for good, and what the refusal teaches about the number."""
    message.status, message.error_code = FAILED, error.code
    current_app.logger.warning("text refused by provider: %s", error.code or "unreachable")
    learn_from_error(message.id)


def on_message_status(session: Session, message: Message, status: str,
                      error_code: int | None) -> None:
    """A delivery report: record it if it moves the text forward (reports arrive out of
    order: ringround.status_order); an error code's effects follow as a job."""
    if moves_forward(MESSAGE_RANKS, message.status, status):
        message.status = status[:32]
    if error_code is not None:
        message.error_code = error_code
        if error_code == UNSUBSCRIBED_RECIPIENT or error_code in BAD_NUMBER_CODES:
            defer(learn_from_error, message.id)


@follow_up
def learn_from_error(message_id: int) -> None:
    """What a text's error code teaches about its number, organization-wide: 21610 (the
    person unsubscribed at the carrier) stops texts only; 21211/21214 mark it a wrong number.
    Idempotent (both only add a mark once)."""
    message = db.session.get(Message, message_id)
    if message is None or message.organization_id is None:
        return
    if message.error_code == UNSUBSCRIBED_RECIPIENT:
        opt_out(db.session, message.organization_id, message.remote_e164, "carrier_21610",
                texts_only=True)
    elif message.error_code in BAD_NUMBER_CODES:
        mark_number_bad(db.session, message.organization_id, message.remote_e164)


@job(retries=3, retry_delay=5, retry_backoff=2)
def text_now(to: str, sealed_body: str) -> None:
    """A text of no campaign (a sign-in code), sent by a job: tried again while the provider
    is unreachable or busy; dropped (and logged) when it refuses the number. Its words come
    sealed (`ringround.sealed`), so neither the queue's storage nor the failed-jobs page
    holds a readable code; one sealed under another SECRET_KEY is dropped (its code, hashed
    with that key too, would not be accepted either)."""
    body = unseal(sealed_body)
    if body is None:
        current_app.logger.warning("a queued text could not be unsealed (SECRET_KEY changed?)")
        return
    try:
        get_provider().send_sms(to, body)
    except ProviderError as error:
        if error.transient:
            raise
        current_app.logger.warning("text refused by provider: %s", error.code)


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
