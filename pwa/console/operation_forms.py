"""Forms of the operation wizard: one per step, the question editor's, and the buttons'.

Rows whose number depends on the operation (dispositions, fields, rules) are not fields here:
the steps read them from the posted form by name (`operation_steps`); the form object carries
the CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ringround import questionnaires as qn
from ringround.models import Operation
from ringround.operation_rules import EXCLUSION_KIND_LABELS
from web.choices import options

WEEKDAYS = [("0", _l("Monday")), ("1", _l("Tuesday")), ("2", _l("Wednesday")),
            ("3", _l("Thursday")), ("4", _l("Friday")), ("5", _l("Saturday")),
            ("6", _l("Sunday"))]
QUESTION_TYPES = [("choice", _l("Choice")), ("yes_no", _l("Yes / no")),
                  ("scale", _l("Scale")), ("text", _l("Text"))]
GROUP_CHOICES = [("contacted", _l("Talked to the right person")),
                 ("no_contact", _l("No contact")), ("remove", _l("Remove"))]
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class StepError(ValueError):
    """Posted values that do not parse, with a message fit to show; `errors` maps each input's
    name to its problem, so the step shows them all at once, each next to its input."""

    def __init__(self, message: Any, errors: dict[str, Any] | None = None):
        super().__init__(str(message))
        self.errors = {name: str(text) for name, text in (errors or {}).items()}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ModeForm(FlaskForm):
    mode = RadioField(_l("How callers work"), choices=options([
        ("simple", _l("Simple: script, contact and result on one screen")),
        ("guided", _l("Guided: one question at a time, following the answers")),
    ]), validators=[InputRequired(message=_l("Choose simple or guided."))])


class SourceForm(FlaskForm):
    kind = RadioField(_l("Who to call"), choices=options([
        ("list", _l("A saved list")), ("filter", _l("A filter over your contacts"))]),
        default="filter", validators=[InputRequired(message=_l("Choose a list or a filter."))])
    list_id = SelectField(_l("Saved list"), coerce=str, choices=[], validate_choice=False)
    tags_any = StringField(_l("With any of these tags"), validators=[Length(max=500)])
    tags_all = StringField(_l("With all of these tags"), validators=[Length(max=500)])
    tags_none = StringField(_l("Without these tags"), validators=[Length(max=500)])
    city = StringField(_l("City"), validators=[Length(max=120)])
    postcode_prefix = StringField(_l("Postcode starts with"), validators=[Length(max=20)])
    language = StringField(_l("Language"), validators=[Length(max=12)])
    country = StringField(_l("Country (two letters)"), validators=[Length(max=2)])
    has_mobile = BooleanField(_l("Only people with a mobile number"))
    not_called_days = IntegerField(
        _l("Not called for at least (days)"),
        validators=[Optional(), NumberRange(min=1, max=3650)])
    field_key = SelectField(_l("And where the field"), choices=[], validate_choice=False)
    field_op = SelectField(_l("Comparison"), choices=options([("equals", _l("is")),
                                                      ("contains", _l("contains"))]),
                           default="equals", validate_choice=False)
    field_value = StringField(_l("Value"), validators=[Length(max=200)])


class BasicsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l(
        "The operation needs a name.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    starts_at = DateTimeLocalField(_l("Starts"), format=DATETIME_FORMAT, validators=[
        DataRequired(message=_l("Give the date and time calling starts."))])
    ends_at = DateTimeLocalField(_l("Ends"), format=DATETIME_FORMAT, validators=[Optional()])
    window_start = TimeField(_l("Call from"), validators=[
        DataRequired(message=_l("Give the time calls may start."))])
    window_end = TimeField(_l("Call until"), validators=[
        DataRequired(message=_l("Give the time calls must stop."))])
    weekdays = MultiCheckboxField(_l("Days"), choices=options(WEEKDAYS))


class MethodForm(FlaskForm):
    own_phone = BooleanField(_l("The caller's own phone (a tap opens the phone app)"))
    campaign_line = BooleanField(_l("The campaign line (we ring the caller, then the contact; "
                                    "numbers stay hidden)"))


class ScriptForm(FlaskForm):
    script = TextAreaField(_l("Script"), validators=[Length(max=20000)])


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=options(QUESTION_TYPES))
    text = TextAreaField(_l("Question"), validators=[
        DataRequired(message=_l("The question needs text.")), Length(max=1000)])
    choices = TextAreaField(_l("Choices (one per line)"), validators=[Length(max=2000)])
    low = IntegerField(_l("Scale from"), default=1, validators=[Optional()])
    high = IntegerField(_l("Scale to"), default=5, validators=[Optional()])
    next_id = SelectField(_l("Then go to"), choices=[], validate_choice=False)


class EmptyForm(FlaskForm):
    """Only the CSRF token: for buttons and for steps whose rows are read by name."""


class RecyclingForm(FlaskForm):
    leave_message = BooleanField(_l("Callers leave a message on voicemail"))
    message = TextAreaField(_l("What to say on voicemail"), validators=[Length(max=1000)])
    new_label = StringField(_l("New disposition"), validators=[Length(max=80)])
    new_group = SelectField(_l("In the group"), choices=options(GROUP_CHOICES),
                            default="no_contact", validate_choice=False)


class ExclusionsForm(FlaskForm):
    household_wide = BooleanField(_l("Apply exclusions to the whole household"))
    cooldown_minutes = IntegerField(_l("Wait at least (minutes) between two calls to a person"),
                                    default=0, validators=[InputRequired(message=_l(
                                        "Give a number of minutes (0 for none).")),
                                        NumberRange(min=0, max=129600)])
    max_calls_per_person = IntegerField(_l("Call one person at most (times)"),
                                        validators=[Optional(), NumberRange(min=1, max=100)])
    new_kind = SelectField(_l("Remove targets who"), choices=options([
        ("", _l("(no new rule)")), *EXCLUSION_KIND_LABELS.items()]), validate_choice=False)
    new_field = SelectField(_l("Field"), choices=[], validate_choice=False)
    new_value = StringField(_l("Value"), validators=[Length(max=200)])
    new_tag = StringField(_l("Tag"), validators=[Length(max=64)])
    new_question = SelectField(_l("Question"), choices=[], validate_choice=False)
    new_answer = StringField(_l("Answer (empty: any answer)"), validators=[Length(max=200)])
    new_label = StringField(_l("Reason shown"), validators=[Length(max=80)])
    done_question = SelectField(_l("A target is done when they answer"), choices=[],
                                validate_choice=False)
    done_answer = StringField(_l("with (empty: any answer)"), validators=[Length(max=200)])
    done_label = StringField(_l("Reason shown"), validators=[Length(max=80)])
    done_reselect = IntegerField(_l("Call again after (days, empty: never)"),
                                 validators=[Optional(), NumberRange(min=1, max=3650)])


class MemberForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=str, choices=[], validate_choice=False)
    role = SelectField(_l("Role"), choices=options([("agent", _l("Agent (calls)")),
                                            ("owner", _l("Owner (edits, sees results)"))]))
    prefer_tags = StringField(_l("Give first targets tagged"), validators=[Length(max=500)])
    avoid_tags = StringField(_l("Never give targets tagged"), validators=[Length(max=500)])


# --- the question editor -----------------------------------------------------------------

def question_from_form(form: QuestionForm, question_id: str, posted: MultiDict) -> dict:
    """A question in the stored shape from the question editor's form."""
    labels = [line for line in (form.choices.data or "").splitlines() if line.strip()]
    branches = {key[len("branch_"):]: value for key, value in posted.items()
                if key.startswith("branch_")}
    return qn.build_question(
        question_id=question_id, kind=form.kind.data, text=form.text.data or "",
        choice_labels=labels, low=form.low.data, high=form.high.data,
        next_id=form.next_id.data or None, branches=branches)


def fill_question(form: QuestionForm, question: dict, last: bool) -> None:
    """The editor's fields from a stored question (`last`: it ends the list, where an unset
    `next` still means "the next question added")."""
    form.kind.data, form.text.data = question["type"], question["text"]
    form.choices.data = "\n".join(c["label"] for c in question.get("choices") or []
                                  if question["type"] == "choice")
    form.low.data, form.high.data = question.get("min", 1), question.get("max", 5)
    form.next_id.data = question.get("next") or ("" if last else qn.END)


def is_last_question(op: Operation, question_id: str | None) -> bool:
    """Whether a question (None: a new one) is, or will be, the last of the list."""
    questions = qn.questions_of(op.questionnaire)
    return question_id is None or not questions or questions[-1]["id"] == question_id


def next_choices(op: Operation, question_id: str | None) -> list[tuple[str, str]]:
    """Where a question may lead: another question, or the end. "End of the questionnaire"
    is kept as chosen; the last question (or a new one) may also leave it open, to go on to
    the question added after it (`questionnaires.replace_question`)."""
    ends = [(qn.END, str(_l("End of the questionnaire")))]
    if is_last_question(op, question_id):
        ends.insert(0, ("", str(_l("The next question you add (until then, the end)"))))
    return ends + [(q["id"], f"{q['id']}: {q['text'][:50]}")
                   for q in qn.questions_of(op.questionnaire) if q["id"] != question_id]
