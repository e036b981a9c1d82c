"""Forms of the organizer console (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from pwa.choices import options
from ringround.accounts import MIN_PASSWORD_LENGTH


class SetupForm(FlaskForm):
    org_name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=200)])
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords must match."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me signed in on this device"))


class SetPasswordForm(FlaskForm):
    """A password (and, for a phone-only account, the email to sign in with)."""

    email = EmailField(_l("Email (you sign in with it)"),
                       validators=[Optional(), Email(), Length(max=320)])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords must match."))],
    )


class AddMemberForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    password = PasswordField(
        _l("First password (for a new account)"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )
    role = SelectField(
        _l("Role"), choices=options([("organizer", _l("Organizer")), ("admin", _l("Admin"))]),
        default="organizer",
    )


class SwitchOrgForm(FlaskForm):
    org_id = HiddenField(validators=[DataRequired()])


class OrganizationForm(FlaskForm):
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=200)])
