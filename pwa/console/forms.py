"""Forms of the organizer console (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ringround.accounts import MIN_PASSWORD_LENGTH
from ringround.i18n import language_options
from ringround.organizations import country_codes, zone_country, zone_names
from web.choices import options


def country_options() -> list[SelectChoice]:
    """Countries by name in the reader's language."""
    names = (get_locale() or Locale("en")).territories
    pairs = sorted(((code, names.get(code, code)) for code in country_codes()),
                   key=lambda pair: pair[1].casefold())
    return options(pairs)


def zone_options() -> list[SelectChoice]:
    """IANA zones, each with its country for the browser's guess (static/js/zone.js)."""
    return [SelectChoice(zone, zone.replace("_", " "),
                         render_kw={"data-country": zone_country(zone) or ""})
            for zone in zone_names()]


def language_choices() -> list[SelectChoice]:
    """The languages Ringround speaks, each named in itself."""
    return options(language_options())


class CsrfForm(FlaskForm):
    """Only the CSRF token: for action buttons whose values are read from the request."""


class CountryZoneMixin:
    """An organization's country, time zone and language (checked by the core)."""

    country = SelectField(_l("Country"), choices=country_options, validate_choice=False,
                          description=_l("National numbers are read as this country's."))
    time_zone = SelectField(_l("Time zone"), choices=zone_options, validate_choice=False,
                            description=_l("Dates in forms and “today” use this zone."))
    language = SelectField(
        _l("Language"), choices=language_choices, validate_choice=False,
        description=_l("Members who chose no language see Ringround in it; texts and calls "
                       "to people without a language use it; new questionnaires and sign-up "
                       "forms start in it."))


class SetupForm(CountryZoneMixin, FlaskForm):
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


class LanguageForm(FlaskForm):
    """The language switch of the caller app and the console (`POST /account/language`)."""

    language = SelectField(_l("Language"), choices=language_choices, validate_choice=False)
    next = HiddenField()


class OrganizationForm(FlaskForm):
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=200)])


class SettingsForm(CountryZoneMixin, FlaskForm):
    """An organization's settings (checked by `ringround.organizations.update_settings`)."""

    name = StringField(_l("Organization name"))
    help_text = TextAreaField(_l("Reply to HELP and note on closed join links"),
                              validators=[Optional()])
    window_start = TimeField(_l("Calling hours start"), validators=[Optional()])
    window_end = TimeField(_l("Calling hours end"), validators=[Optional()])
