"""The operation wizard's steps: each step shown (a fragment for htmx, a page otherwise),
saved through its form's mapping (`operation_steps`), and the source step's live count."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from pwa.console import operation_forms as forms
from pwa.console import operation_steps as steps
from pwa.console.operation_pages import bp, join_links_url, managed_operation
from ringround import operations as ops
from ringround import questionnaires as qn
from ringround.extensions import db, htmx
from ringround.models import Operation, Organization, User
from ringround.operation_dispositions import disposition_rows
from ringround.operation_fields import effective_settings
from ringround.operation_rules import EXCLUSION_KIND_LABELS
from ringround.script_placeholders import placeholders
from web.choices import options

STEP_LABELS = {
    "mode": _l("Mode"), "source": _l("Who to call"), "basics": _l("Basics"),
    "method": _l("Call method"), "questionnaire": _l("Script and questions"),
    "recycling": _l("Results and retries"), "exclusions": _l("Exclusions and goals"),
    "fields": _l("Fields"), "people": _l("People"), "review": _l("Review"),
}


def fragment_or_page(fragment: str, page: str, **context) -> str:
    """The fragment for htmx swaps; the whole page otherwise, and for htmx's history restore
    (it replaces the whole body when "back" finds no snapshot, as with hx-history=false)."""
    partial = htmx and not htmx.history_restore_request
    return render_template(fragment if partial else page, **context)


def _step_context(op: Operation, org: Organization, step: str, form) -> dict:
    context = {"op": op, "org": org, "step": step, "form": form, "steps": STEP_LABELS,
               "step_names": list(STEP_LABELS), "editable": op.state.value != "ended",
               "can_delete": ops.can_delete(db.session, op, current_user),
               "step_locked": not ops.can_edit_step(db.session, op, current_user, step)}
    if step == "questionnaire":
        context.update(questions=qn.questions_of(op.questionnaire), templates=qn.TEMPLATE_NAMES,
                       problems=qn.validate(op.questionnaire), new_question=question_form(op),
                       placeholders=placeholders(db.session, op))
        preview = request.args.get("preview")
        if preview in qn.TEMPLATES:
            context["preview"] = (preview, qn.template(preview, org.language)["questions"])
        context["question_forms"] = {q["id"]: question_form(op, q)
                                     for q in context["questions"]}
        if "try" in request.args:
            context["trial"] = _trial(op)
    elif step == "source":
        context["matching"] = ops.matching_count(db.session, op)
        context["conditions"] = (op.source_filter or {}).get("fields") or []
    elif step == "recycling":
        context["rows"] = disposition_rows(op)
    elif step == "exclusions":
        context["exclusions"] = op.exclusions or {}
        context["kind_labels"] = EXCLUSION_KIND_LABELS
    elif step == "fields":
        context["fields"] = effective_settings(db.session, op)
    elif step == "people":
        _people_context(op, context)
    elif step == "review":
        context["problems"] = ops.readiness_problems(db.session, op)
        context["matching"] = ops.matching_count(db.session, op)
        context["rows"] = disposition_rows(op)
        context["fields"] = [f for f in effective_settings(db.session, op)
                             if f["visibility"] != "hidden"]
        context["to_local"] = lambda moment: steps.to_local(moment, org)
    return context


def _trial(op: Operation) -> dict:
    """Try the questionnaire as a guided caller would: the answers so far come in the query
    string (`a-<question id>`), the next question follows the branches."""
    answers = {key[2:]: value for key, value in request.args.items()
               if key.startswith("a-") and value != ""}
    path = qn.answered_path(op.questionnaire, answers)
    answers = {qid: answers[qid] for qid in path}
    asked = [qn.question_by_id(op.questionnaire, qid) for qid in path]
    return {"answers": answers, "asked": asked,
            "labels": {q["id"]: qn.answer_label(q, answers[q["id"]]) for q in asked},
            "current": qn.next_question(op.questionnaire, answers)}


def _people_context(op: Operation, context: dict) -> None:
    context["join_links_url"] = join_links_url(op)
    users = {u.id: u for u in db.session.scalars(db.select(User).where(
        User.id.in_([m.user_id for m in op.members])))}
    context["members"] = [(m, users.get(m.user_id)) for m in op.members]
    context["add_form"] = forms.MemberForm(formdata=None)


def question_form(op: Operation, question: dict | None = None) -> forms.QuestionForm:
    form = forms.QuestionForm(formdata=None, prefix=question["id"] if question else "new")
    form.next_id.choices = options(forms.next_choices(op, question["id"] if question else None))
    if question:
        forms.fill_question(form, question, forms.is_last_question(op, question["id"]))
    return form


def render_step(op: Operation, org: Organization, step: str, form=None, status: int = 200,
                posted=None, **extra):
    """A step as stored, or (with `form` and `posted`) a refused post shown again as typed.

    Nothing else decides what a step shows: the templates read the typed values from
    `posted` only, never from the request, so a step reached in any way after a save (htmx
    or full page, back, reload) shows what is stored."""
    spec = steps.STEP_FORMS[step]
    if form is None:
        form = spec.form(formdata=None)
        spec.fill(form, op, org)
    steps.prepare(step, form, op, org)
    context = _step_context(op, org, step, form)
    context["posted"] = posted if posted is not None else {}
    context.update({key: value for key, value in extra.items() if value is not None})
    if step == "people":
        context["add_form"].user_id.choices = options([("", str(_l("(choose someone)")))] + [
            (str(u.id), u.display_name + (f" <{u.email}>" if u.email else ""))
            for u in ops.candidate_members(db.session, op)])
    body = fragment_or_page("operations/_wizard.html", "operations/wizard.html", **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")  # a fragment or a page for the same URL
    if htmx and not htmx.history_restore_request:
        response.headers["HX-Push-Url"] = url_for("operations.step", op_id=op.id, step=step)
    return response


def _after_save(op: Operation, step: str, stay: bool = False):
    """Redirect after a save, with or without htmx (whose request follows it and gets the
    step's fragment and its URL to push): the address bar always names the step on screen."""
    names = list(STEP_LABELS)
    target = step if stay else names[min(names.index(step) + 1, len(names) - 1)]
    return redirect(url_for("operations.step", op_id=op.id, step=target))


@bp.route("/<int:op_id>/steps/<step>", methods=["GET", "POST"])
@managed_operation
def step(op: Operation, org: Organization, step: str):
    if step not in STEP_LABELS:
        abort(404)
    if request.method == "GET":
        # A template preview or trial run (htmx) brings the script being typed along: keep it.
        typed = (forms.ScriptForm(formdata=request.args)
                 if step == "questionnaire" and "script" in request.args else None)
        return render_step(op, org, step, typed)
    if not ops.can_edit_step(db.session, op, current_user, step):
        abort(403)
    spec = steps.STEP_FORMS[step]
    form = spec.form()
    steps.prepare(step, form, op, org)
    valid = form.validate_on_submit()
    if form.csrf_token.errors:
        abort(400)
    error = None
    try:
        # The core checks what the form could read even when the form found problems, so
        # every problem is shown at once; nothing is kept unless all is well.
        spec.save(form, op, org, request.form)
    except (ops.OperationError, forms.StepError) as error_:
        error = error_
    if valid and error is None:
        db.session.commit()
        flash(_("Saved."), "success")
        return _after_save(op, step, stay=request.form.get("action") == "add")
    db.session.rollback()
    return render_step(op, org, step, form, posted=request.form,
                       step_problems=steps.step_problems(form, error),
                       error=_("Please correct the fields marked below."))


@bp.get("/<int:op_id>/source/count")
@managed_operation
def source_count(op: Operation, org: Organization):
    """The source step's live count: how many contacts the source on screen matches."""
    if not ops.can_edit_step(db.session, op, current_user, "source"):
        abort(403)
    form = forms.SourceForm(request.args, meta={"csrf": False})
    steps.source_choices(form, org)
    try:
        total = ops.count_source(db.session, op, **steps.source_from_form(form, op, request.args))
    except (ops.OperationError, forms.StepError) as error:
        return render_template("contacts/_count.html", total=None, error=str(error))
    return render_template("contacts/_count.html", total=total, error=None)
