"""How each wizard step's form maps to the core: a `fill` (operation -> form, on GET), a
`save` (form -> the core's update function), the choices a step's selects offer, and the
problems of a refused post, each next to its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from pwa.console.operation_forms import (
    BasicsForm,
    EmptyForm,
    ExclusionsForm,
    MethodForm,
    ModeForm,
    RecyclingForm,
    ScriptForm,
    SourceForm,
    StepError,
)
from ringround import operations as ops
from ringround import questionnaires as qn
from ringround.extensions import db
from ringround.models import Operation, Organization, SavedList
from ringround.operation_dispositions import disposition_rows
from ringround.operation_fields import available_fields, effective_settings
from web.choices import options


def _zone(org: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(org.time_zone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def to_local(moment: datetime | None, org: Organization) -> datetime | None:
    """A UTC datetime as naive local time in the organization's zone (for datetime-local)."""
    return moment.astimezone(_zone(org)).replace(tzinfo=None) if moment else None


def from_local(moment: datetime | None, org: Organization) -> datetime | None:
    """A naive datetime-local value, read in the organization's zone, as aware UTC."""
    return moment.replace(tzinfo=_zone(org)) if moment else None


@dataclass(frozen=True)
class Step:
    form: type[FlaskForm]
    fill: Any
    save: Any


def _fill_mode(form: ModeForm, op: Operation, org: Organization) -> None:
    form.mode.data = op.mode.value


def _save_mode(form: ModeForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    ops.update_mode(db.session, op, form.mode.data)


def source_choices(form: SourceForm, org: Organization) -> None:
    lists = db.session.scalars(db.select(SavedList).where(
        SavedList.organization_id == org.id).order_by(SavedList.name))
    form.list_id.choices = options([("", _l("(choose a list)"))]
                                   + [(str(s.id), s.name) for s in lists])
    form.field_key.choices = options([("", str(_l("(no field condition)")))] + [
        (f.key, f.label) for f in available_fields(db.session, org.id)])


def _fill_source(form: SourceForm, op: Operation, org: Organization) -> None:
    if op.source_list_id:
        form.kind.data, form.list_id.data = "list", str(op.source_list_id)
        return
    form.kind.data = "filter"
    saved = op.source_filter or {}
    for key in ("tags_any", "tags_all", "tags_none"):
        getattr(form, key).data = ", ".join(saved.get(key, []))
    for key in ("city", "postcode_prefix", "language", "country", "has_mobile",
                "not_called_days"):
        getattr(form, key).data = saved.get(key)


def source_from_form(form: SourceForm, op: Operation, posted: MultiDict) -> dict[str, Any]:
    """The source the form describes, as `list_id` or `contact_filter` keyword arguments of
    the core's update_source and count_source."""
    if form.kind.data == "list":
        if not (form.list_id.data or "").isdigit():
            raise StepError(_l("Choose one of your saved lists."), {
                "list_id": _l("Choose one of your saved lists.")})
        return {"list_id": int(form.list_id.data)}
    keys = ("tags_any", "tags_all", "tags_none", "city", "postcode_prefix", "language",
            "country", "has_mobile", "not_called_days")
    raw = {key: getattr(form, key).data for key in keys}
    raw["country"] = (raw["country"] or "").upper()
    current = op.source_filter or {}
    raw["fields"] = [condition for i, condition in enumerate(current.get("fields") or [])
                     if not posted.get(f"remove_field_{i}")]
    if form.field_key.data:
        raw["fields"].append({"field": form.field_key.data, "op": form.field_op.data,
                              "value": form.field_value.data or ""})
    if current.get("created_since"):  # set from the contacts page; kept as it is
        raw["created_since"] = current["created_since"]
    return {"contact_filter": raw}


def _save_source(form: SourceForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    ops.update_source(db.session, op, **source_from_form(form, op, posted))


def _fill_basics(form: BasicsForm, op: Operation, org: Organization) -> None:
    form.name.data, form.description.data = op.name, op.description
    form.starts_at.data, form.ends_at.data = to_local(op.starts_at, org), to_local(op.ends_at, org)
    form.window_start.data, form.window_end.data = op.window_start, op.window_end
    form.weekdays.data = list(op.weekdays)


def _save_basics(form: BasicsForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    ends_at = from_local(form.ends_at.data, org)
    if op.starts_at and ends_at == op.ends_at == ops.one_month_after(op.starts_at):
        ends_at = None  # the end was left at its default: it follows a new start
    ops.update_basics(
        db.session, op, name=form.name.data, description=form.description.data or "",
        starts_at=from_local(form.starts_at.data, org), ends_at=ends_at,
        window_start=form.window_start.data, window_end=form.window_end.data,
        weekdays="".join(form.weekdays.data or []))


def _fill_method(form: MethodForm, op: Operation, org: Organization) -> None:
    form.own_phone.data, form.campaign_line.data = op.allow_own_phone, op.allow_campaign_line


def _save_method(form: MethodForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    ops.update_call_method(db.session, op, own_phone=form.own_phone.data,
                           campaign_line=form.campaign_line.data)


def _fill_script(form: ScriptForm, op: Operation, org: Organization) -> None:
    form.script.data = op.script


def _save_script(form: ScriptForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    try:
        ops.update_script(db.session, op, form.script.data or "")
    except ops.OperationError as error:
        if error.field == "script":  # shown next to the script, which keeps what was typed
            form.script.errors = [*form.script.errors, str(error)]
        raise
    # Moving on checks the questions too (a dangling branch or a circle stops here).
    ops.update_questionnaire(db.session, op, op.questionnaire or qn.blank())


def _fill_recycling(form: RecyclingForm, op: Operation, org: Organization) -> None:
    policy = op.voicemail_policy or {}
    form.leave_message.data, form.message.data = policy.get("leave_message"), policy.get(
        "message")


def _int(posted: MultiDict, name: str, what: str, problems: dict[str, Any]) -> int:
    """A whole number posted as `name`; a problem is noted (0 returned) when it is not one."""
    value = (posted.get(name) or "").strip()
    if not value.isdigit():
        problems[name] = _l("%(what)s must be a whole number.", what=what)
        return 0
    return int(value)


def _save_recycling(
    form: RecyclingForm, op: Operation, org: Organization, posted: MultiDict
) -> None:
    """Labels, added results and retries. Only a ticked "Try again" box makes a retry rule:
    an unticked one means that result is never tried again (the queue reads the same rules)."""
    labels, rules, custom = {}, {}, []
    problems: dict[str, Any] = {}
    for row in disposition_rows(op):
        if row.automatic and not op.allow_campaign_line:  # not on the page: kept as stored
            if row.retries:
                rules[row.code] = {"retries": row.retries,
                                   "interval_minutes": row.interval_minutes}
            continue
        label = (posted.get(f"label_{row.code}") or "").strip()
        if row.custom:
            if not posted.get(f"delete_{row.code}"):
                custom.append({"code": row.code, "label": label or row.label,
                               "group": row.group})
        elif not row.automatic:
            labels[row.code] = label
        if row.group != "remove" and posted.get(f"retry_{row.code}"):
            rules[row.code] = {
                "retries": _int(posted, f"retries_{row.code}",
                                _l("More attempts for “%(d)s”", d=label or row.label),
                                problems),
                "interval_minutes": _int(posted, f"interval_{row.code}",
                                         _l("Minutes between attempts for “%(d)s”",
                                            d=label or row.label), problems),
            }
    if problems:
        raise StepError(next(iter(problems.values())), problems)
    if (form.new_label.data or "").strip():
        custom.append({"label": form.new_label.data, "group": form.new_group.data})
    ops.update_recycling(db.session, op, labels=labels, custom=custom, retry_rules=rules,
                         leave_message=form.leave_message.data,
                         message=form.message.data or "")


def question_choices(op: Operation, empty_label: str) -> list[tuple[str, str]]:
    return [("", empty_label)] + [
        (q["id"], f"{q['id']}: {q['text'][:60]}") for q in qn.questions_of(op.questionnaire)]


def _fill_exclusions(form: ExclusionsForm, op: Operation, org: Organization) -> None:
    form.household_wide.data = (op.exclusions or {}).get("household_wide", False)
    form.cooldown_minutes.data = op.cooldown_minutes
    form.max_calls_per_person.data = op.max_calls_per_person


def _save_exclusions(
    form: ExclusionsForm, op: Operation, org: Organization, posted: MultiDict
) -> None:
    current = op.exclusions or {}
    rules = [rule for i, rule in enumerate(current.get("rules") or [])
             if not posted.get(f"remove_rule_{i}")]
    done = [rule for i, rule in enumerate(current.get("done_conditions") or [])
            if not posted.get(f"remove_done_{i}")]
    if form.new_kind.data:
        rules.append({"kind": form.new_kind.data, "field": form.new_field.data,
                      "value": form.new_value.data, "tag": form.new_tag.data,
                      "question": form.new_question.data, "answer": form.new_answer.data,
                      "label": form.new_label.data})
    if form.done_question.data:
        done.append({"kind": "answered", "question": form.done_question.data,
                     "answer": form.done_answer.data, "label": form.done_label.data,
                     "reselect_after_days": form.done_reselect.data})
    ops.update_exclusions(
        db.session, op, household_wide=form.household_wide.data, rules=rules,
        done_conditions=done, cooldown_minutes=form.cooldown_minutes.data,
        max_calls_per_person=form.max_calls_per_person.data)


def _noop_fill(form: FlaskForm, op: Operation, org: Organization) -> None:
    return None


def _save_fields(form: EmptyForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    rows, problems = [], {}
    for index, row in enumerate(effective_settings(db.session, op)):
        key = row["key"]
        order = (posted.get(f"order_{key}") or "").strip()
        if order and not order.lstrip("-").isdigit():
            problems[f"order_{key}"] = _l("The order of “%(f)s” must be a number.",
                                          f=row["label"])
            order = ""
        rows.append((int(order) if order else 10_000 + index, index, {
            "key": key, "visibility": posted.get(f"vis_{key}", "hidden"),
            "highlight": bool(posted.get(f"hl_{key}"))}))
    if problems:
        raise StepError(next(iter(problems.values())), problems)
    rows.sort(key=lambda item: (item[0], item[1]))
    ops.update_fields(db.session, op, [item[2] for item in rows])


def _save_nothing(form: FlaskForm, op: Operation, org: Organization, posted: MultiDict) -> None:
    return None


STEP_FORMS: dict[str, Step] = {
    "mode": Step(ModeForm, _fill_mode, _save_mode),
    "source": Step(SourceForm, _fill_source, _save_source),
    "basics": Step(BasicsForm, _fill_basics, _save_basics),
    "method": Step(MethodForm, _fill_method, _save_method),
    "questionnaire": Step(ScriptForm, _fill_script, _save_script),
    "recycling": Step(RecyclingForm, _fill_recycling, _save_recycling),
    "exclusions": Step(ExclusionsForm, _fill_exclusions, _save_exclusions),
    "fields": Step(EmptyForm, _noop_fill, _save_fields),
    "people": Step(EmptyForm, _noop_fill, _save_nothing),
    "review": Step(EmptyForm, _noop_fill, _save_nothing),
}


def step_problems(form: FlaskForm, error: Exception | None) -> dict[str, str]:
    """Every problem of a posted step, input name -> message: the form's own (WTForms) and
    the core's. Messages about a form field are also put on that field, where the field macro
    shows them; the others (rows read by name) are shown by the step's template."""
    problems = {name: str(errors[0]) for name, errors in form.errors.items()
                if errors and name != "csrf_token"}
    found = dict(getattr(error, "errors", None) or {})
    if error is not None and not found:
        found = {"": str(error)}  # about the step as a whole
    for name, message in found.items():
        if name in form and not form[name].errors:
            form[name].errors = [*form[name].errors, message]
        problems.setdefault(name, message)
    return problems


def prepare(step: str, form: FlaskForm, op: Operation, org: Organization) -> None:
    """Fill the choices a form's selects offer for this operation."""
    if step == "source":
        source_choices(form, org)
    elif step == "exclusions":
        form.new_field.choices = options([("", str(_l("(choose a field)")))] + [
            (f.key, f.label) for f in available_fields(db.session, org.id)])
        form.new_question.choices = options(question_choices(op, str(_l("(choose a question)"))))
        form.done_question.choices = options(question_choices(op, str(_l("(no done-condition)"))))
