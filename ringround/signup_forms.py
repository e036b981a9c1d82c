"""Sign-up forms: what an organizer asks, and how a submission becomes a contact with consent.

The same `submit_signup` serves the public page, the kiosk and (through the telephony part)
an SMS keyword conversation: find a form with `form_for_keyword`, then submit what was asked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.accounts import slugify
from ringround.audit import record_audit
from ringround.enrollment import EnrollmentError, typed_phone
from ringround.models import Consent, Contact, Operation, Organization, SignupForm, User
from ringround.people.merge import get_or_create_tags, upsert_contact
from ringround.queue import materialize_targets
from ringround.sms_keywords import recognize, same_keyword

# The fields a form may ask, in the order they are shown.
FIELD_KEYS = ("first_name", "last_name", "phone", "email", "postcode", "city", "language")
FIELD_MODES = ("off", "optional", "required")
DEFAULT_FIELDS = {"first_name": "required", "last_name": "optional", "phone": "required",
                  "email": "optional"}
MAX_LENGTHS = {"first_name": 120, "last_name": 120, "email": 320, "postcode": 20, "city": 120,
               "language": 12, "phone": 40}
KEYWORD_RE = re.compile(r"^[^\W_]{2,32}$")  # letters of any alphabet (GÅMED) and digits


class SignupError(ValueError):
    """A form setting that cannot be saved, with a message fit to show the organizer."""


@dataclass
class Submission:
    """A cleaned submission, or the errors (field -> message) to show next to the fields."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


# ---- organizers' side ------------------------------------------------------------------

def clean_fields(fields: dict[str, str]) -> dict[str, str]:
    """Keep known fields asked as optional or required; a form must ask a phone or an email."""
    cleaned = {key: fields[key] for key in FIELD_KEYS
               if fields.get(key) in ("optional", "required")}
    if "phone" not in cleaned and "email" not in cleaned:
        raise SignupError(_("Ask at least a phone number or an email address, "
                            "or the sign-up cannot reach anyone."))
    return cleaned


def clean_tags(tags: list[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    seen: list[str] = []
    for tag in (t.strip()[:64] for t in tags):
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def clean_keyword(keyword: str | None) -> str | None:
    """The keyword in capitals, in the organization's alphabet; STOP, HELP and their kin in
    any language are kept for opt-out and help."""
    keyword = (keyword or "").strip().upper()
    if not keyword:
        return None
    if not KEYWORD_RE.match(keyword):
        raise SignupError(_("A keyword is one word of letters and digits (2 to 32)."))
    if recognize(keyword).keyword is not None:
        raise SignupError(_("%(word)s is kept for opting out, opting in and help.",
                            word=keyword))
    return keyword


def _forms_with_keyword(session: Session, org_id: int, keyword: str) -> list[SignupForm]:
    """The organization's forms whose keyword is `keyword` without case and accents."""
    return [form for form in session.scalars(select(SignupForm).where(
        SignupForm.organization_id == org_id, SignupForm.sms_keyword.is_not(None)))
        if same_keyword(form.sms_keyword, keyword)]


def unique_form_slug(session: Session, title: str) -> str:
    """A public slug from the title, with a short random part so forms are not enumerable."""
    base = slugify(title)[:48]
    while True:
        slug = f"{base}-{secrets.token_hex(3)}"
        if session.scalar(select(SignupForm.id).where(SignupForm.slug == slug)) is None:
            return slug


def _check_operation(session: Session, org_id: int, operation_id: int | None) -> int | None:
    if not operation_id:
        return None
    operation = session.get(Operation, operation_id)
    if operation is None or operation.organization_id != org_id:
        raise SignupError(_("That operation is not in this organization."))
    return operation.id


def _check_keyword(session: Session, org_id: int, keyword: str | None, form_id: int | None):
    if keyword is None:
        return
    if any(form.id != form_id for form in _forms_with_keyword(session, org_id, keyword)):
        raise SignupError(_("Another sign-up form already uses that keyword."))


def save_signup_form(
    session: Session, *, org: Organization, actor: User, form: SignupForm | None = None,
    title: str, intro: str = "", fields: dict[str, str], consent_text: str,
    privacy_url: str | None = None, tags: list[str] | str = (), thank_you: str = "",
    operation_id: int | None = None, language: str = "en", sms_keyword: str | None = None,
    kiosk: bool = False, active: bool = True,
) -> SignupForm:
    """Create a sign-up form, or update `form`. Changing the consent text makes a new version."""
    title = title.strip()
    if not title:
        raise SignupError(_("The form needs a title."))
    if not consent_text.strip():
        raise SignupError(_("Say what people agree to (the consent text)."))
    if privacy_url and not re.match(r"^(https?://|/)", privacy_url.strip()):
        raise SignupError(_("The privacy statement link must start with https:// or /."))
    keyword = clean_keyword(sms_keyword)
    values = {
        "title": title[:200], "intro": intro.strip(), "fields": clean_fields(fields),
        "privacy_url": (privacy_url or "").strip() or None, "tags": clean_tags(tags),
        "thank_you": thank_you.strip(), "language": language or "en",
        "operation_id": _check_operation(session, org.id, operation_id),
        "sms_keyword": keyword, "kiosk": bool(kiosk), "active": bool(active),
    }
    _check_keyword(session, org.id, keyword, form.id if form else None)
    if form is None:
        form = SignupForm(organization_id=org.id, slug=unique_form_slug(session, title),
                          consent_text=consent_text.strip(), consent_version=1,
                          created_by_id=actor.id, **values)
        session.add(form)
        action = "signup_form.created"
    else:
        if consent_text.strip() != form.consent_text:
            form.consent_text = consent_text.strip()
            form.consent_version += 1
        for key, value in values.items():
            setattr(form, key, value)
        action = "signup_form.updated"
    session.flush()
    record_audit(session, org.id, actor.id, action, "signup_form", form.id)
    return form


def organization_forms(session: Session, org_id: int) -> list[SignupForm]:
    return list(session.scalars(select(SignupForm).where(SignupForm.organization_id == org_id)
                                .order_by(SignupForm.created_at.desc(), SignupForm.id.desc())))


def form_by_slug(session: Session, slug: str) -> SignupForm | None:
    """An active form by its public slug."""
    return session.scalar(select(SignupForm).where(SignupForm.slug == slug,
                                                   SignupForm.active.is_(True)))


def form_for_keyword(session: Session, org_id: int, keyword: str) -> SignupForm | None:
    """The active form an SMS keyword starts (the telephony part's hook)."""
    if not keyword:
        return None
    return next((form for form in _forms_with_keyword(session, org_id, keyword)
                 if form.active), None)


# ---- the public side -------------------------------------------------------------------

def validate_submission(form: SignupForm, data: dict[str, str], region: str) -> Submission:
    """Check what someone typed against what the form asks; messages say how to fix it."""
    result = Submission()
    for key, mode in form.fields.items():
        value = (data.get(key) or "").strip()
        if not value:
            if mode == "required":
                result.errors[key] = _("Please fill this in.")
            continue
        if len(value) > MAX_LENGTHS.get(key, 200):
            result.errors[key] = _("This is too long.")
            continue
        if key == "phone":
            try:
                value = typed_phone(value, region)
            except EnrollmentError as error:
                result.errors[key] = str(error)
                continue
        elif key == "email":
            try:
                value = validate_email(value, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                result.errors[key] = _("That email address does not look right.")
                continue
        result.values[key] = value
    if not result.errors and not result.values.get("phone") and not result.values.get("email"):
        target = "phone" if "phone" in form.fields else "email"
        result.errors[target] = _("Please give a phone number or an email address.")
    if not data.get("consent"):
        result.errors["consent"] = _(
            "Please tick the box to agree, or we cannot keep your details.")
    return result


def _email_only_contact(session: Session, org_id: int, values: dict[str, str],
                        tags: list[str], source: str) -> Contact:
    """A new contact known only by email (the merge rules need a number to create one)."""
    contact = Contact(organization_id=org_id, source=source[:120], custom={}, **{
        key: values[key] for key in ("first_name", "last_name", "email", "postcode", "city",
                                     "language") if values.get(key)})
    session.add(contact)
    contact.tags.extend(get_or_create_tags(session, org_id, tags))
    session.flush()
    return contact


def submit_signup(
    session: Session, form: SignupForm, values: dict[str, str], *, source: str | None = None,
    now: datetime | None = None,
) -> Contact:
    """Store a validated submission: the contact (created or merged), its tags, the consent
    (exact text, version, time, source form) and, if the form says so, a target."""
    source = source or f"form:{form.id}"
    consent = {"channel": "call", "granted": True, "text": form.consent_text,
               "text_version": str(form.consent_version), "source": source}
    fields = {key: values[key] for key in ("first_name", "last_name", "email", "postcode",
                                            "city", "language") if values.get(key)}
    phones = [values["phone"]] if values.get("phone") else []
    try:
        # The contacts module's merge rules, shared with imports: match by number or email,
        # fill empty fields, unite tags, keep differing values.
        contact, _created = upsert_contact(session, form.organization_id, fields, phones,
                                           list(form.tags), source, consent=consent)
    except ValueError:  # no number and no matching email: a new, email-only contact
        contact = _email_only_contact(session, form.organization_id, values, form.tags, source)
        contact.consents.append(Consent(channel="call", granted=True, text=form.consent_text,
                                        text_version=str(form.consent_version), source=source))
    if now is not None:
        contact.consents[-1].recorded_at = now
    operation = session.get(Operation, form.operation_id) if form.operation_id else None
    if operation is not None:
        materialize_targets(session, operation, contact_ids=[contact.id])
    form.submissions = SignupForm.submissions + 1  # atomic: kiosks may submit at once
    session.flush()
    return contact
