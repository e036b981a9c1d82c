"""The wizard's questionnaire editor: a template applied, a question saved, moved or deleted,
each keeping the script typed beside it; a refused change shows what was typed again."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from pwa.console import operation_forms as forms
from pwa.console.operation_pages import bp, managed_operation
from pwa.console.operation_wizard import question_form, render_step
from ringround import operations as ops
from ringround import questionnaires as qn
from ringround.extensions import db, htmx
from ringround.models import Operation, Organization
from web.choices import options


def _questionnaire_change(op: Operation, org: Organization, change: Callable[[], dict]):
    """Apply a questionnaire edit, keeping the old one (with a message) when it is refused."""
    try:
        ops.update_questionnaire(db.session, op, change())
    except (ops.OperationError, qn.QuestionnaireError) as error:
        db.session.rollback()
        return str(error)
    db.session.commit()
    return None


def _draft_script(op: Operation) -> forms.ScriptForm | None:
    """The script typed beside the questions, which every question action carries (htmx
    includes it): saved first, so that no action drops it. When it cannot be saved, the form
    that keeps it, with the reason next to it."""
    if "script" not in request.form:
        return None
    try:
        ops.update_script(db.session, op, request.form["script"])
    except ops.OperationError as error:
        form = forms.ScriptForm()
        form.script.errors = [str(error)]
        return form
    db.session.commit()
    return None


def _questionnaire_response(op: Operation, org: Organization, error: str | None, form=None,
                            editing: str | None = None,
                            script_form: forms.ScriptForm | None = None):
    if error is None:
        flash(_("Questionnaire saved."), "success")
        if not htmx and script_form is None:
            return redirect(url_for("operations.step", op_id=op.id, step="questionnaire"))
        return render_step(op, org, "questionnaire", script_form)
    # Keep what was typed: the editor shows the refused version again, with the message.
    extra: dict = {"error": error, "editing": editing}
    if form is not None and editing == "new":
        extra["new_question"] = form
    elif form is not None:
        extra["question_forms"] = {q["id"]: question_form(op, q)
                                   for q in qn.questions_of(op.questionnaire)}
        extra["question_forms"][editing] = form
    return render_step(op, org, "questionnaire", script_form, **extra)


@bp.post("/<int:op_id>/questionnaire/template")
@managed_operation
def apply_template(op: Operation, org: Organization):
    if not forms.EmptyForm().validate_on_submit():
        abort(400)
    name = request.form.get("template") or None
    if name is not None and name not in qn.TEMPLATES:
        abort(400)
    script_form = _draft_script(op)
    error = _questionnaire_change(
        op, org, lambda: qn.template(name, org.language) if name else qn.blank())
    return _questionnaire_response(op, org, error, script_form=script_form)


@bp.post("/<int:op_id>/questions/<question_id>")
@managed_operation
def save_question(op: Operation, org: Organization, question_id: str):
    is_new = question_id == "new"
    if not is_new and qn.question_by_id(op.questionnaire, question_id) is None:
        abort(404)
    form = forms.QuestionForm(prefix=question_id)
    form.next_id.choices = options(forms.next_choices(op, None if is_new else question_id))
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _questionnaire_response(op, org, _("The question needs text."), form,
                                       question_id, _draft_script(op))
    script_form = _draft_script(op)
    qid = qn.new_question_id(op.questionnaire) if is_new else question_id
    posted = {k[len(question_id) + 1:]: v for k, v in request.form.items()
              if k.startswith(question_id + "-")}
    question = forms.question_from_form(form, qid, posted)
    error = _questionnaire_change(op, org, lambda: qn.replace_question(op.questionnaire,
                                                                       question))
    return _questionnaire_response(op, org, error, form, question_id, script_form)


@bp.post("/<int:op_id>/questions/<question_id>/<action>")
@managed_operation
def change_question(op: Operation, org: Organization, question_id: str, action: str):
    if not forms.EmptyForm().validate_on_submit():
        abort(400)
    if qn.question_by_id(op.questionnaire, question_id) is None:
        abort(404)
    changes = {"delete": lambda: qn.remove_question(op.questionnaire, question_id),
               "up": lambda: qn.move_question(op.questionnaire, question_id, -1),
               "down": lambda: qn.move_question(op.questionnaire, question_id, 1)}
    if action not in changes:
        abort(404)
    script_form = _draft_script(op)
    return _questionnaire_response(op, org, _questionnaire_change(op, org, changes[action]),
                                   script_form=script_form)
