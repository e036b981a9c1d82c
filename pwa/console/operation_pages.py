"""Organizer pages for call operations: the step-by-step wizard, the lifecycle buttons, the
dashboard (polled by htmx), the results export and the organization's overview.

Only organization admins and organizers, and the operation's owners, reach these pages;
agents get 403. Every view works without JavaScript; with htmx it swaps fragments.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from pwa.console import operation_forms as forms
from pwa.console.charts import bar_chart
from ringround import operations as ops
from ringround import questionnaires as qn
from ringround.extensions import db, htmx
from ringround.models import Operation, OperationRole, Organization, OrgRole, User
from ringround.operation_dispositions import disposition_rows
from ringround.operation_fields import effective_settings
from ringround.operation_rules import EXCLUSION_KIND_LABELS
from ringround.operation_stats import (
    operation_figures,
    organization_progress,
    results_stream,
)
from ringround.people.crm_export import PROFILES, RESULTS
from ringround.queue import SeeingLimits, caller_alerts
from ringround.queue.reasons import reason_label
from ringround.script_placeholders import placeholders
from web.choices import options
from web.context import current_org, current_role, org_role_required
from web.nav import add_console_nav

bp = Blueprint("operations", __name__, url_prefix="/console/operations")

STEP_LABELS = {
    "mode": _l("Mode"), "source": _l("Who to call"), "basics": _l("Basics"),
    "method": _l("Call method"), "questionnaire": _l("Script and questions"),
    "recycling": _l("Results and retries"), "exclusions": _l("Exclusions and goals"),
    "fields": _l("Fields"), "people": _l("People"), "review": _l("Review"),
}


def register_nav() -> None:
    add_console_nav("operations.overview", _l("Operations"))


def managed_operation(view: Callable) -> Callable:
    """Load the operation in the URL; 403 for its agents, 404 for everyone else outside."""

    @wraps(view)
    @login_required
    def wrapped(op_id: int, **kwargs):
        op = db.session.get(Operation, op_id)
        if op is None:
            abort(404)
        standing = ops.standing_in(db.session, op, current_user)
        if not standing.manages:
            abort(403 if standing is ops.Standing.AGENT else 404)
        org = db.session.get(Organization, op.organization_id)
        return view(op=op, org=org, **kwargs)

    return wrapped


def _fragment_or_page(fragment: str, page: str, **context) -> str:
    """The fragment for htmx swaps; the whole page otherwise, and for htmx's history restore
    (it replaces the whole body when "back" finds no snapshot, as with hx-history=false)."""
    partial = htmx and not htmx.history_restore_request
    return render_template(fragment if partial else page, **context)


# --- overview and creation -----------------------------------------------------------------

@bp.get("/")
@login_required
def overview():
    org = current_org()
    organizer = org is not None and current_role() in (OrgRole.ADMIN, OrgRole.ORGANIZER)
    rows = organization_progress(db.session, org.id) if organizer else []
    shown = {row["operation"].id for row in rows}
    owned = [op.id for op in ops.owned_operations(db.session, current_user)
             if op.id not in shown]
    if not organizer and not owned:
        abort(403)
    owned_rows = organization_progress(db.session, 0, operation_ids=owned) if owned else []
    return render_template("operations/overview.html", org=org, rows=rows,
                           owned_rows=owned_rows, can_create=organizer, form=forms.EmptyForm())


@bp.post("/new")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def new(org: Organization):
    if not forms.EmptyForm().validate_on_submit():
        abort(400)
    op = ops.create_draft(db.session, org.id, current_user)
    db.session.commit()
    return redirect(url_for("operations.step", op_id=op.id, step="mode"))


# --- the wizard ----------------------------------------------------------------------------

def _step_context(op: Operation, org: Organization, step: str, form) -> dict:
    context = {"op": op, "org": org, "step": step, "form": form, "steps": STEP_LABELS,
               "step_names": list(STEP_LABELS), "editable": op.state.value != "ended",
               "can_delete": ops.can_delete(db.session, op, current_user),
               "step_locked": not ops.can_edit_step(db.session, op, current_user, step)}
    if step == "questionnaire":
        context.update(questions=qn.questions_of(op.questionnaire), templates=qn.TEMPLATE_NAMES,
                       problems=qn.validate(op.questionnaire), new_question=_question_form(op),
                       placeholders=placeholders(db.session, op))
        preview = request.args.get("preview")
        if preview in qn.TEMPLATES:
            context["preview"] = (preview, qn.template(preview, org.language)["questions"])
        context["question_forms"] = {q["id"]: _question_form(op, q)
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
        context["to_local"] = lambda moment: forms.to_local(moment, org)
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


def join_links_url(op: Operation) -> str | None:
    """The sharing part's page of join links and QR codes for this operation, when present."""
    if "sharing.operation_people" not in current_app.view_functions:
        return None
    return url_for("sharing.operation_people", operation_id=op.id)


def _people_context(op: Operation, context: dict) -> None:
    context["join_links_url"] = join_links_url(op)
    users = {u.id: u for u in db.session.scalars(db.select(User).where(
        User.id.in_([m.user_id for m in op.members])))}
    context["members"] = [(m, users.get(m.user_id)) for m in op.members]
    context["add_form"] = forms.MemberForm(formdata=None)


def _question_form(op: Operation, question: dict | None = None) -> forms.QuestionForm:
    form = forms.QuestionForm(formdata=None, prefix=question["id"] if question else "new")
    form.next_id.choices = options(forms.next_choices(op, question["id"] if question else None))
    if question:
        forms.fill_question(form, question)
    return form


def render_step(op: Operation, org: Organization, step: str, form=None, status: int = 200,
                posted=None, **extra):
    """A step as stored, or (with `form` and `posted`) a refused post shown again as typed.

    Nothing else decides what a step shows: the templates read the typed values from
    `posted` only, never from the request, so a step reached in any way after a save (htmx
    or full page, back, reload) shows what is stored."""
    spec = forms.STEP_FORMS[step]
    if form is None:
        form = spec.form(formdata=None)
        spec.fill(form, op, org)
    forms.prepare(step, form, op, org)
    context = _step_context(op, org, step, form)
    context["posted"] = posted if posted is not None else {}
    context.update({key: value for key, value in extra.items() if value is not None})
    if step == "people":
        context["add_form"].user_id.choices = options([("", str(_l("(choose someone)")))] + [
            (str(u.id), u.display_name + (f" <{u.email}>" if u.email else ""))
            for u in ops.candidate_members(db.session, op)])
    body = _fragment_or_page("operations/_wizard.html", "operations/wizard.html", **context)
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
    spec = forms.STEP_FORMS[step]
    form = spec.form()
    forms.prepare(step, form, op, org)
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
                       step_problems=forms.step_problems(form, error),
                       error=_("Please correct the fields marked below."))


@bp.get("/<int:op_id>/source/count")
@managed_operation
def source_count(op: Operation, org: Organization):
    """The source step's live count: how many contacts the source on screen matches."""
    if not ops.can_edit_step(db.session, op, current_user, "source"):
        abort(403)
    form = forms.SourceForm(request.args, meta={"csrf": False})
    forms.source_choices(form, org)
    try:
        total = ops.count_source(db.session, op, **forms.source_from_form(form, op, request.args))
    except (ops.OperationError, forms.StepError) as error:
        return render_template("contacts/_count.html", total=None, error=str(error))
    return render_template("contacts/_count.html", total=total, error=None)


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
        extra["question_forms"] = {q["id"]: _question_form(op, q)
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


# --- people --------------------------------------------------------------------------------

def _people_response(op: Operation, org: Organization, error: str | None, add_form=None):
    if error is None:
        db.session.commit()
        flash(_("People saved."), "success")
        if not htmx:
            return redirect(url_for("operations.step", op_id=op.id, step="people"))
    else:
        db.session.rollback()
    return render_step(op, org, "people", error=error, add_form=add_form)


@bp.post("/<int:op_id>/members")
@managed_operation
def add_member(op: Operation, org: Organization):
    form = forms.MemberForm()
    if not form.validate_on_submit():
        abort(400)
    error = None
    try:
        if not (form.user_id.data or "").isdigit():
            raise ops.OperationError(_("Choose someone to add."))
        ops.add_member(db.session, op, current_user, user_id=int(form.user_id.data),
                       role=form.role.data, prefer_tags=form.prefer_tags.data,
                       avoid_tags=form.avoid_tags.data)
    except ops.OperationError as error_:
        error = str(error_)
    return _people_response(op, org, error, add_form=form if error else None)


@bp.post("/<int:op_id>/members/<int:member_id>")
@managed_operation
def update_member(op: Operation, org: Organization, member_id: int):
    form = forms.MemberForm()
    if not form.validate_on_submit():
        abort(400)
    error = None
    try:
        if request.form.get("action") == "remove":
            ops.remove_member(db.session, op, current_user, member_id)
        else:
            ops.update_member(db.session, op, member_id, role=form.role.data,
                              prefer_tags=form.prefer_tags.data, avoid_tags=form.avoid_tags.data)
    except ops.OperationError as error_:
        error = str(error_)
    return _people_response(op, org, error)


# --- lifecycle -----------------------------------------------------------------------------

LIFECYCLE = {"activate": ops.activate, "pause": ops.pause, "resume": ops.resume,
             "end": ops.end}


@bp.post("/<int:op_id>/<any(activate, pause, resume, end, duplicate):action>")
@managed_operation
def lifecycle(op: Operation, org: Organization, action: str):
    if not forms.EmptyForm().validate_on_submit():
        abort(400)
    try:
        if action == "duplicate":
            copy = ops.duplicate(db.session, op, current_user)
            db.session.commit()
            flash(_("A copy is ready as a draft: review it before activating."), "success")
            return redirect(url_for("operations.step", op_id=copy.id, step="review"))
        LIFECYCLE[action](db.session, op, current_user)
    except ops.OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
        back = "review" if op.state.value == "draft" else None
        return redirect(url_for("operations.step", op_id=op.id, step=back) if back
                        else url_for("operations.dashboard", op_id=op.id))
    db.session.commit()
    messages = {"activate": _("The operation is live: callers can start."),
                "pause": _("Paused: no new targets are handed out."),
                "resume": _("Resumed."), "end": _("The operation has ended.")}
    flash(messages[action], "success")
    return redirect(url_for("operations.dashboard", op_id=op.id))


@bp.route("/<int:op_id>/delete", methods=["GET", "POST"])
@managed_operation
def delete(op: Operation, org: Organization):
    """Delete a draft: a page that asks first (GET), then the deletion (POST)."""
    if not ops.can_delete(db.session, op, current_user):
        abort(403 if op.state.value == "draft" else 409)
    form = forms.EmptyForm()
    if request.method == "GET":
        return render_template("operations/delete.html", op=op, org=org, form=form)
    if not form.validate_on_submit():
        abort(400)
    ops.delete_draft(db.session, op, current_user)
    db.session.commit()
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("operations.overview"))


# --- dashboard and export ------------------------------------------------------------------

# The dashboard polls every 10 s; polled call figures may be that old (targets are always
# live). Opening the page always computes them afresh.
FIGURES_MAX_AGE = 10


def _figures_context(op: Operation, max_age: float = 0) -> dict:
    figures = operation_figures(db.session, op, max_age=max_age)
    charts = {t["id"]: bar_chart(t["items"], t["text"]) for t in figures.tallies if t["items"]}
    limits = SeeingLimits(current_app.config["CALLER_PEOPLE_PER_MINUTE"],
                          current_app.config["CALLER_PEOPLE_PER_HOUR"])
    return {"op": op, "figures": figures, "charts": charts, "reason_label": reason_label,
            "rows": {row.code: row.label for row in disposition_rows(op)},
            "alerts": caller_alerts(db.session, op.id, limits)}


@bp.get("/<int:op_id>")
@managed_operation
def dashboard(op: Operation, org: Organization):
    return render_template("operations/dashboard.html", org=org, form=forms.EmptyForm(),
                           join_links_url=join_links_url(op),
                           is_owner=any(m.user_id == current_user.id
                                        and m.role is OperationRole.OWNER for m in op.members),
                           profiles=[(name, p.label) for name, p in PROFILES.items()],
                           **_figures_context(op))


@bp.get("/<int:op_id>/figures")
@managed_operation
def figures(op: Operation, org: Organization):
    return render_template("operations/_figures.html",
                           **_figures_context(op, max_age=FIGURES_MAX_AGE))


@bp.get("/<int:op_id>/results.csv")
@managed_operation
def export(op: Operation, org: Organization):
    profile = request.args.get("profile") or None
    results = request.args.get("results") or "tags"
    if (profile and profile not in PROFILES) or results not in RESULTS:
        flash(_("Choose one of the export formats offered."), "error")
        return redirect(url_for("operations.dashboard", op_id=op.id))
    response = Response(results_stream(db.engine, op, current_user.id, profile, results),
                        mimetype="text/csv")
    suffix = f"-{profile}" if profile else ""
    response.headers["Content-Disposition"] = \
        f'attachment; filename="operation-{op.id}{suffix}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
