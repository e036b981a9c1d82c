"""Sign-up forms: organizers build them; the public (or a kiosk tablet) fills them in."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from ringround.extensions import db, limiter
from ringround.i18n import choose_locale
from ringround.models import Operation, Organization, OrgRole, SignupForm
from ringround.organizations import default_region
from ringround.signup_forms import (
    FIELD_KEYS,
    SignupError,
    form_by_slug,
    organization_forms,
    save_signup_form,
    submit_signup,
    validate_submission,
)
from sharing.access import qr_response, render_no_store, template_helpers
from sharing.forms import SignupFormEditor, public_signup_form_class
from web.choices import options
from web.context import org_role_required
from web.links import public_url

bp = Blueprint("signup", __name__, template_folder="templates")
bp.context_processor(template_helpers)

page_limit = lambda: current_app.config.get("SIGNUP_PAGE_RATE_LIMIT", "60 per minute")  # noqa: E731
submit_limit = lambda: current_app.config.get(  # noqa: E731
    "SIGNUP_RATE_LIMIT", "20 per minute;300 per hour")


# ---- organizers --------------------------------------------------------------------------

def _org_form(org: Organization, form_id: int) -> SignupForm:
    form = db.session.get(SignupForm, form_id)
    if form is None or form.organization_id != org.id:
        abort(404)
    return form


def _editor(org: Organization, form: SignupForm | None) -> SignupFormEditor:
    editor = SignupFormEditor(obj=form) if form else SignupFormEditor()
    operations = db.session.scalars(db.select(Operation).where(
        Operation.organization_id == org.id).order_by(Operation.name)).all()
    editor.operation_id.choices = options([(0, _("None"))]
                                          + [(op.id, op.name) for op in operations])
    if request.method == "GET":
        fields = form.fields if form else {"first_name": "required", "phone": "required",
                                           "email": "optional"}
        for key in FIELD_KEYS:
            editor[f"field_{key}"].data = fields.get(key, "off")
        if form is not None:
            editor.tags.data = ", ".join(form.tags)
            editor.operation_id.data = form.operation_id or 0
        else:
            editor.language.data = org.language  # a new form speaks the organization's
    return editor


def _save(org: Organization, editor: SignupFormEditor, form: SignupForm | None):
    try:
        saved = save_signup_form(
            db.session, org=org, actor=current_user, form=form, title=editor.title.data,
            intro=editor.intro.data or "",
            fields={key: editor[f"field_{key}"].data for key in FIELD_KEYS},
            consent_text=editor.consent_text.data, privacy_url=editor.privacy_url.data,
            tags=editor.tags.data or "", thank_you=editor.thank_you.data or "",
            operation_id=editor.operation_id.data or None, language=editor.language.data,
            sms_keyword=editor.sms_keyword.data, kiosk=editor.kiosk.data,
            active=editor.active.data,
        )
    except SignupError as error:
        db.session.rollback()
        flash(str(error), "error")
        return None
    db.session.commit()
    return saved


@bp.get("/console/signup-forms")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def forms(org: Organization):
    return render_no_store("sharing/signup_forms.html", org=org,
                           forms=organization_forms(db.session, org.id))


@bp.route("/console/signup-forms/new", methods=["GET", "POST"])
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def new_form(org: Organization):
    editor = _editor(org, None)
    if editor.validate_on_submit():
        saved = _save(org, editor, None)
        if saved is not None:
            flash(_("The form is ready to share."), "success")
            return redirect(url_for("signup.edit_form", form_id=saved.id))
    return render_no_store("sharing/signup_edit.html", org=org, editor=editor, form=None,
                           field_keys=FIELD_KEYS)


@bp.route("/console/signup-forms/<int:form_id>", methods=["GET", "POST"])
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def edit_form(form_id: int, org: Organization):
    form = _org_form(org, form_id)
    editor = _editor(org, form)
    if editor.validate_on_submit() and _save(org, editor, form) is not None:
        flash(_("Saved."), "success")
        return redirect(url_for("signup.edit_form", form_id=form.id))
    return render_no_store("sharing/signup_edit.html", org=org, editor=editor, form=form,
                           field_keys=FIELD_KEYS, url=_public(form))


def _public(form: SignupForm) -> str:
    return public_url(url_for("signup.public_form", slug=form.slug))


@bp.get("/console/signup-forms/<int:form_id>/qr.<fmt>")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def form_qr(form_id: int, fmt: str, org: Organization):
    form = _org_form(org, form_id)
    name = f"signup-{form.slug}" if request.args.get("download") else None
    return qr_response(_public(form), fmt, name)


@bp.get("/console/signup-forms/<int:form_id>/screen")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def form_screen(form_id: int, org: Organization):
    form = _org_form(org, form_id)
    return render_no_store("sharing/screen.html", title=form.title, url=_public(form),
                           qr_src=url_for("signup.form_qr", form_id=form.id, fmt="svg"),
                           back=url_for("signup.edit_form", form_id=form.id))


@bp.get("/console/signup-forms/<int:form_id>/poster")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def form_poster(form_id: int, org: Organization):
    form = _org_form(org, form_id)
    return render_no_store("sharing/poster.html", title=form.title, url=_public(form),
                           instructions=_("Scan with your phone camera to sign up."),
                           qr_src=url_for("signup.form_qr", form_id=form.id, fmt="svg"),
                           back=url_for("signup.edit_form", form_id=form.id))


# ---- the public ----------------------------------------------------------------------------

def _visitor_locale(form: SignupForm) -> str:
    """The browser's language when Ringround speaks it, else the form's own."""
    return choose_locale(*(tag for tag, _q in request.accept_languages), form.language)


@bp.route("/s/<slug>", methods=["GET", "POST"])
@limiter.limit(page_limit)
@limiter.limit(submit_limit, methods=["POST"])
def public_form(slug: str):
    form = form_by_slug(db.session, slug)
    if form is None:
        abort(404)
    with force_locale(_visitor_locale(form)):
        return _public_page(form)


def _public_page(form: SignupForm):
    web_form = public_signup_form_class(form.fields)()
    if web_form.validate_on_submit():
        thanks = redirect(url_for("signup.thanks", slug=form.slug))
        if web_form.website.data:
            return thanks  # a bot filled the honeypot: pretend all went well, store nothing
        data = {key: web_form[key].data for key in form.fields}
        data["consent"] = web_form.consent.data
        region = default_region(db.session.get(Organization, form.organization_id))
        result = validate_submission(form, data, region)
        if not result.errors:
            submit_signup(db.session, form, result.values)
            db.session.commit()
            return thanks
        for key, message in result.errors.items():
            web_form[key].errors = [message]
        flash(_("Please correct the marked fields."), "error")
    return render_no_store("sharing/signup_public.html", form=form, web_form=web_form,
                           field_keys=[k for k in FIELD_KEYS if k in form.fields])


@bp.get("/s/<slug>/thanks")
@limiter.limit(page_limit)
def thanks(slug: str):
    form = form_by_slug(db.session, slug)
    if form is None:
        abort(404)
    with force_locale(_visitor_locale(form)):
        return render_no_store("sharing/signup_thanks.html", form=form,
                               again=url_for("signup.public_form", slug=form.slug))
