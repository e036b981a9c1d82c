"""Forms of the telephony pages (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

E164 = Regexp(r"^\+[1-9]\d{6,14}$", message=_l("Use the international form, e.g. +14155550100."))


class CampaignNumberForm(FlaskForm):
    campaign_number = StringField(_l("Campaign number"), validators=[Optional(), E164])
    help_text = StringField(_l("Reply to HELP"), validators=[Optional(), Length(max=320)])


class FollowUpForm(FlaskForm):
    name = StringField(_l("Name (what the caller's button says)"),
                       validators=[DataRequired(), Length(max=80)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=640)])
    operation_id = SelectField(_l("Operation"), choices=[], validate_choice=False)


class ReplyForm(FlaskForm):
    body = StringField(_l("Reply"), validators=[DataRequired(), Length(max=640)])


class PhoneForm(FlaskForm):
    phone = StringField(_l("Phone"), validators=[DataRequired(), E164])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (buttons)."""
