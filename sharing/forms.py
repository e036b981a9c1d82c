"""Forms of the sharing pages (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from ringround.signup_forms import FIELD_KEYS
from web.choices import options

LANGUAGES = [
    ("", _l("Language (optional)")), ("en", "English"), ("es", "Español"), ("fr", "Français"),
    ("de", "Deutsch"), ("it", "Italiano"), ("pt", "Português"), ("nl", "Nederlands"),
    ("sv", "Svenska"), ("da", "Dansk"), ("pl", "Polski"), ("ar", "العربية"), ("zh", "中文"),
]
EXPIRY_CHOICES = [
    ("", _l("Never")), ("1h", _l("In 1 hour")), ("1d", _l("In 24 hours")),
    ("7d", _l("In 7 days")), ("30d", _l("In 30 days")),
]
FIELD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"), "phone": _l("Phone"),
    "email": _l("Email"), "postcode": _l("Postcode"), "city": _l("City"),
    "language": _l("Language"),
}
FIELD_MODE_CHOICES = [("off", _l("Not asked")), ("optional", _l("Optional")),
                      ("required", _l("Required"))]


class ActionForm(FlaskForm):
    """A button that changes something (revoke, remove): only the CSRF token."""


class JoinLinkForm(FlaskForm):
    role = SelectField(_l("They join as"), choices=options([
        ("agent", _l("Caller (agent)")), ("owner", _l("Owner (can edit and see results)")),
    ]), default="agent")
    label = StringField(_l("Name of the link (for you)"), validators=[Optional(), Length(max=120)])
    expires = SelectField(_l("Stops working"), choices=options(EXPIRY_CHOICES), default="")
    expires_on = DateField(_l("…or at the end of this day"), validators=[Optional()])
    max_uses = IntegerField(_l("Most people who can join with it"),
                            validators=[Optional(), NumberRange(min=1, max=100000)])


class JoinDetailsForm(FlaskForm):
    """The volunteer's first screen: name and phone; email and language are optional."""

    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    phone = TelField(_l("Your mobile number"), validators=[DataRequired(), Length(max=40)])
    email = EmailField(_l("Email (optional)"), validators=[Optional(), Email(), Length(max=320)])
    language = SelectField(_l("Language (optional)"), choices=options(LANGUAGES), default="",
                           validate_choice=True)


class JoinNameForm(JoinDetailsForm):
    """The first screen where no SMS can verify a number: the number is optional."""

    phone = TelField(_l("Your mobile number (optional)"),
                     validators=[Optional(), Length(max=40)])


class OneTapForm(FlaskForm):
    one_tap = HiddenField(default="1")


class CodeForm(FlaskForm):
    code = StringField(_l("Code from the text message"),
                       validators=[DataRequired(), Length(min=4, max=12)])


class PhoneSigninForm(FlaskForm):
    phone = TelField(_l("Your mobile number"), validators=[DataRequired(), Length(max=40)])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Find a person by name, email or phone"),
                    validators=[Optional(), Length(max=100)])


MEMBER_ROLES = [("agent", _l("Agent")), ("owner", _l("Owner"))]


class InviteForm(FlaskForm):
    user_id = HiddenField(validators=[DataRequired()])
    role = SelectField(_l("Role"), choices=options(MEMBER_ROLES), default="agent")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=options(MEMBER_ROLES))


class SignupFormEditor(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    intro = TextAreaField(_l("A sentence under the title"), validators=[Optional()])
    consent_text = TextAreaField(_l("What people agree to (consent text)"),
                                 validators=[DataRequired()])
    privacy_url = URLField(_l("Link to your privacy statement"),
                           validators=[Optional(), Length(max=500)])
    tags = StringField(_l("Tags to apply (comma-separated)"), validators=[Optional()])
    thank_you = TextAreaField(_l("Thank-you message"), validators=[Optional()])
    operation_id = SelectField(_l("Add sign-ups to this operation"), coerce=int, default=0)
    language = SelectField(_l("Language of the form"), choices=options(LANGUAGES[1:]), default="en")
    sms_keyword = StringField(_l("SMS keyword (texting it starts this sign-up)"),
                              validators=[Optional(), Length(max=32)])
    kiosk = BooleanField(_l("Kiosk mode (a shared tablet: clears itself after each sign-up)"))
    active = BooleanField(_l("Open for sign-ups"), default=True)


for _key in FIELD_KEYS:
    setattr(SignupFormEditor, f"field_{_key}",
            SelectField(FIELD_LABELS[_key], choices=options(FIELD_MODE_CHOICES), default="off"))


def public_signup_form_class(fields: dict[str, str]) -> type[FlaskForm]:
    """A form class with the fields one sign-up form asks (checked by ringround.signup_forms)."""

    class PublicSignupForm(FlaskForm):
        consent = BooleanField()
        # The honeypot: hidden from people by CSS, filled in by bots.
        website = StringField(_l("Leave this empty"))

    for key in FIELD_KEYS:
        if key not in fields:
            continue
        label = FIELD_LABELS[key]
        if key == "phone":
            field = TelField(label)
        elif key == "email":
            field = EmailField(label)
        elif key == "language":
            field = SelectField(label, choices=options(LANGUAGES), default="")
        else:
            field = StringField(label)
        setattr(PublicSignupForm, key, field)
    return PublicSignupForm
