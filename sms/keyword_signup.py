"""Keyword sign-up by SMS: texting a sign-up form's keyword (e.g. JOIN) starts a conversation
that asks the form's fields one by one, confirms, and creates or merges the contact with
consent, source and tags. Replies come in the form's language."""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.models import (
    Conversation,
    ConversationState,
    Operation,
    Organization,
    SignupForm,
    utcnow,
)
from ringround.optouts import opt_in
from ringround.people.merge import upsert_contact
from ringround.queue import materialize_targets
from ringround.signup_forms import form_for_keyword
from ringround.sms_consent import START_WORDS, record_sms_consent

CONVERSATION_HOURS = 24
# Asked in this order; the phone is the number texting, the language is the form's.
ASKED = ("first_name", "last_name", "email", "postcode", "city")
QUESTIONS = {
    "first_name": _l("What is your first name?"),
    "last_name": _l("What is your last name?"),
    "email": _l("What is your email address?"),
    "postcode": _l("What is your postcode?"),
    "city": _l("Which town or city do you live in?"),
}
LENGTHS = {"first_name": 120, "last_name": 120, "email": 320, "postcode": 20, "city": 120}
SKIP_WORDS = {"SKIP", "-"}
# The replies that confirm or cancel a sign-up, in each language we speak (any case). Every
# conversation accepts all of them: people answer in the language they think in.
YES_WORDS = {"en": {"YES", "Y", "OK"}, "fr": {"OUI"}, "sv": {"JA"}, "nl": {"JA", "OKÉ", "OKE"}}
NO_WORDS = {"en": {"NO", "N"}, "fr": {"NON"}, "sv": {"NEJ"}, "nl": {"NEE"}}
CONFIRMING = START_WORDS.union(*YES_WORDS.values(), {"SI"})  # SI: Spanish and Italian
CANCELLING = frozenset().union(*NO_WORDS.values())
CONFIRM = "confirm"


def continue_conversation(session: Session, org: Organization, remote: str,
                          body: str) -> list[str]:
    """Continue the person's sign-up conversation, or start one from a keyword."""
    conversation = open_conversation(session, org.id, remote)
    if conversation is None:
        form = form_for_keyword(session, org.id, body.strip())
        if form is None:
            return []
        return start(session, form, remote)
    form = session.get(SignupForm, conversation.form_id)
    with force_locale(conversation.language):
        if form is None or not form.active:
            conversation.state = ConversationState.CANCELLED
            return [_("This sign-up is closed. Thank you!")]
        return [answer(session, form, conversation, remote, body)]


def confirms(body: str) -> bool:
    """YES in any of our languages (and the START words) confirms a sign-up waiting for it."""
    return body.strip().upper() in CONFIRMING


def cancels(body: str) -> bool:
    """NO in any of our languages cancels a sign-up waiting for its confirmation."""
    return body.strip().upper() in CANCELLING


def open_conversation(session: Session, org_id: int, remote: str) -> Conversation | None:
    """The person's sign-up conversation in progress, if any (and not expired)."""
    return session.scalar(
        select(Conversation).where(
            Conversation.organization_id == org_id, Conversation.remote_e164 == remote,
            Conversation.state == ConversationState.OPEN, Conversation.expires_at > utcnow(),
        ).order_by(Conversation.id.desc()).limit(1)
    )


def awaiting_confirmation(session: Session, org_id: int, remote: str) -> bool:
    """Whether the person's sign-up asked every question and waits for YES."""
    conversation = open_conversation(session, org_id, remote)
    return conversation is not None and not conversation.fields


def start(session: Session, form: SignupForm, remote: str) -> list[str]:
    """A new conversation for `form` (an older open one is replaced)."""
    session.execute(update(Conversation).where(
        Conversation.organization_id == form.organization_id,
        Conversation.remote_e164 == remote, Conversation.state == ConversationState.OPEN,
    ).values(state=ConversationState.CANCELLED))
    fields = [key for key in ASKED if key in (form.fields or {})]
    conversation = Conversation(
        organization_id=form.organization_id, remote_e164=remote, form_id=form.id,
        keyword=form.sms_keyword or "", language=form.language or "en", fields=fields,
        answers={}, expires_at=utcnow() + timedelta(hours=CONVERSATION_HOURS),
    )
    session.add(conversation)
    session.flush()
    with force_locale(conversation.language):
        hello = _("Thanks for texting %(org)s! Reply STOP at any time to stop.",
                  org=form.organization.name)
        return [f"{hello} {next_prompt(form, conversation)}"]


def next_prompt(form: SignupForm, conversation: Conversation) -> str:
    """The next question, or the confirmation with the consent text."""
    if conversation.fields:
        key = conversation.fields[0]
        question = str(QUESTIONS[key])
        if form.fields.get(key) != "required":
            question += " " + _("(or reply SKIP)")
        return question
    return _("%(consent)s Reply YES to sign up.", consent=form.consent_text)


def _clean(key: str, value: str) -> tuple[str | None, str | None]:
    """(value, None) or (None, what is wrong)."""
    if len(value) > LENGTHS[key]:
        return None, _("That is too long.")
    if key == "email":
        try:
            return validate_email(value, check_deliverability=False).normalized.lower(), None
        except EmailNotValidError:
            return None, _("That email address does not look right.")
    return value, None


def answer(session: Session, form: SignupForm, conversation: Conversation, remote: str,
           body: str) -> str:
    """One reply in the conversation: store the field and ask the next, or confirm."""
    text = body.strip()
    conversation.updated_at = utcnow()
    if not conversation.fields:
        if confirms(text):
            return finish(session, form, conversation, remote)
        if cancels(text):
            conversation.state = ConversationState.CANCELLED
            return _("All right, nothing was saved.")
        return next_prompt(form, conversation)
    key = conversation.fields[0]
    if text.upper() in SKIP_WORDS or not text:
        if form.fields.get(key) == "required":
            return _("We need this one. %(question)s", question=next_prompt(form, conversation))
        value = None
    else:
        value, problem = _clean(key, text)
        if problem:
            return f"{problem} {next_prompt(form, conversation)}"
    answers = dict(conversation.answers or {})
    if value:
        answers[key] = value
    conversation.answers = answers
    conversation.fields = conversation.fields[1:]
    return next_prompt(form, conversation)


def finish(session: Session, form: SignupForm, conversation: Conversation,
           remote: str) -> str:
    """Create or merge the contact with consent (calls and texts), source and tags."""
    source = f"sms:{conversation.keyword}"[:120]
    opt_in(session, form.organization_id, remote, "sms_signup")
    fields = {**conversation.answers, "language": form.language or None}
    consent = {"channel": "call", "text": form.consent_text,
               "text_version": str(form.consent_version), "source": source}
    contact, _created = upsert_contact(session, form.organization_id, fields, [remote],
                                       list(form.tags or []), source, consent)
    record_sms_consent(session, contact, form.consent_text, source).text_version = str(
        form.consent_version)
    contact.do_not_contact = False
    if form.operation_id is not None:
        operation = session.get(Operation, form.operation_id)
        if operation is not None:
            materialize_targets(session, operation, [contact.id])
    form.submissions = SignupForm.submissions + 1
    conversation.state = ConversationState.DONE
    conversation.contact_id = contact.id
    session.flush()
    return form.thank_you or _("You are signed up. Thank you!")
