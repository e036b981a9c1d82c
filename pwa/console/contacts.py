"""The organizer's contact base: import with a mapping preview and a progress bar, the filter
builder with its live count, saved lists, bulk tags, exports, and one contact's page."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileRequired, MultipleFileField
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from pwa.console.forms import CsrfForm
from ringround.extensions import db, htmx
from ringround.models import (
    Attempt,
    Contact,
    ImportJob,
    ImportStatus,
    Organization,
    OrgRole,
    SavedList,
    Tag,
)
from ringround.organizations import default_region
from ringround.people import jobs
from ringround.people.contacts import (
    get_contact,
    get_phone,
    opted_out_numbers,
    reset_phone_status,
    set_do_not_contact,
    set_number_opted_out,
)
from ringround.people.crm_export import PROFILES, RESULTS
from ringround.people.erasure import erase_contact
from ringround.people.export import contacts_stream, person_data
from ringround.people.filters import (
    FilterError,
    bulk_tag,
    contact_ids_select,
    count_matching,
    filter_from_args,
    filter_to_args,
    save_list,
)
from ringround.people.headers import (
    CUSTOM_PREFIX,
    FIELDS,
    IGNORE,
    custom_key,
    detect_crm,
    is_valid_target,
)
from ringround.people.reader import TableError
from web.context import org_role_required

bp = Blueprint("contacts", __name__, url_prefix="/console/contacts")
ORGANIZERS = (OrgRole.ADMIN, OrgRole.ORGANIZER)
PAGE = 50
FIELD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "full_name": _l("Full name"), "email": _l("Email"), "phone": _l("Phone"),
    "mobile": _l("Mobile"), "landline": _l("Landline"), "street": _l("Street address"),
    "postcode": _l("Postcode"), "city": _l("City"), "country": _l("Country"),
    "language": _l("Language"), "date_of_birth": _l("Date of birth"),
    "household": _l("Household"), "tags": _l("Tags"),
    "do_not_contact": _l("Do not contact when yes (opt-out)"),
    "opt_in": _l("Do not contact when no (opt-in)"),
    "extension": _l("Extension (of the phone column before it)"), IGNORE: _l("Do not import"),
}


class UploadForm(FlaskForm):
    file = MultipleFileField(
        _l("Contact file (CSV, Excel .xlsx, or vCards: one or more .vcf files, or a .zip "
           "of them)"), validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv", "txt", "tsv", "xlsx", "vcf", "zip"],
                        _l("Use a CSV, an Excel (.xlsx) file or vCard (.vcf) files.")),
        ])


class MappingForm(FlaskForm):
    default_region = StringField(_l("Country of national numbers (e.g. FR)"),
                                 validators=[Optional(), Length(min=2, max=2)])
    tags = StringField(_l("Tags for every imported contact (comma-separated)"),
                       validators=[Optional(), Length(max=500)])


class VcardMappingForm(MappingForm):
    """People from phones did not sign up: say where they come from and why they'll be
    called (kept with each contact)."""

    consent_source = StringField(
        _l("Where these contacts come from"),
        validators=[DataRequired(_l("Say where these contacts come from.")), Length(max=120)])
    consent_purpose = StringField(
        _l("What they will be called about"),
        validators=[DataRequired(_l("Say what these people will be called about.")),
                    Length(max=500)])


def _job_or_404(org: Organization, job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None or job.organization_id != org.id:
        abort(404)
    return job


def _filter_or_flash(source) -> dict:
    try:
        return filter_from_args(source)
    except (FilterError, ValueError) as error:
        flash(str(error), "error")
        return {}


@bp.get("/")
@org_role_required(*ORGANIZERS)
def index(org: Organization):
    saved = None
    if request.args.get("list"):
        saved = db.session.get(SavedList, request.args.get("list", type=int) or 0)
        if saved is None or saved.organization_id != org.id:
            abort(404)
        filter_ = saved.filter
    else:
        filter_ = _filter_or_flash(request.args)
    try:
        total = count_matching(db.session, org.id, filter_)
        ids = db.session.scalars(contact_ids_select(org.id, filter_)
                                 .order_by("id").limit(PAGE)).all()
    except FilterError as error:
        flash(str(error), "error")
        filter_, total, ids = {}, 0, []
    contacts = db.session.scalars(
        select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)
        .options(selectinload(Contact.phones), selectinload(Contact.tags))).all() if ids else []
    return render_template(
        "contacts/index.html", org=org, contacts=contacts, total=total, filter=filter_,
        args=filter_to_args(filter_), saved=saved, form=CsrfForm(),
        lists=db.session.scalars(select(SavedList).where(SavedList.organization_id == org.id)
                                 .order_by(SavedList.name)).all(),
        tags=db.session.scalars(select(Tag.name).where(Tag.organization_id == org.id)
                                .order_by(Tag.name)).all(),
        imports=db.session.scalars(select(ImportJob).where(ImportJob.organization_id == org.id)
                                   .order_by(ImportJob.id.desc()).limit(5)).all(),
        profiles=[(name, profile.label) for name, profile in PROFILES.items()],
    )


@bp.get("/count")
@org_role_required(*ORGANIZERS)
def count(org: Organization):
    try:
        total = count_matching(db.session, org.id, filter_from_args(request.args))
    except (FilterError, ValueError) as error:
        return render_template("contacts/_count.html", total=None, error=str(error))
    return render_template("contacts/_count.html", total=total, error=None)


@bp.post("/lists")
@org_role_required(*ORGANIZERS)
def save(org: Organization):
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        saved = save_list(db.session, org.id, request.form.get("list_name", ""),
                          filter_from_args(request.form))
    except (FilterError, ValueError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contacts.index", **filter_to_args(
            _filter_or_flash(request.form))))
    db.session.commit()
    flash(_("List “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("contacts.index", list=saved.id))


@bp.post("/tags")
@org_role_required(*ORGANIZERS)
def tag(org: Organization):
    if not CsrfForm().validate_on_submit():
        abort(400)
    name = request.form.get("tag", "").strip()
    filter_ = _filter_or_flash(request.form)
    if not name:
        flash(_("Name the tag."), "error")
    else:
        add = request.form.get("action") != "remove"
        changed = bulk_tag(db.session, org.id, filter_, name, add=add)
        db.session.commit()
        message = ngettext("Tagged %(num)s contact with “%(tag)s”.",
                           "Tagged %(num)s contacts with “%(tag)s”.", changed, tag=name) \
            if add else ngettext("Removed “%(tag)s” from %(num)s contact.",
                                 "Removed “%(tag)s” from %(num)s contacts.", changed, tag=name)
        flash(message, "success")
    return redirect(url_for("contacts.index", **filter_to_args(filter_)))


@bp.post("/export")
@org_role_required(*ORGANIZERS)
def export(org: Organization):
    if not CsrfForm().validate_on_submit():
        abort(400)
    filter_ = _filter_or_flash(request.form)
    profile = request.form.get("profile") or None
    results = request.form.get("results") or "tags"
    if (profile and profile not in PROFILES) or results not in RESULTS:
        flash(_("Choose one of the export formats offered."), "error")
        return redirect(url_for("contacts.index", **filter_to_args(filter_)))
    stream = contacts_stream(db.engine, org.id, filter_, current_user.id,
                             request.form.get("list_name") or None, profile, results)
    suffix = f"-{profile}" if profile else ""
    return Response(stream, mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="contacts-{org.slug}{suffix}.csv"',
                             "Cache-Control": "no-store"})


# --- import -------------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@org_role_required(*ORGANIZERS)
def upload(org: Organization):
    form = UploadForm()
    if form.validate_on_submit():
        try:
            filename, stored = jobs.store_uploads(
                [(f.filename or "contacts.csv", f.stream) for f in form.file.data])
            job = jobs.receive_upload(db.session, org.id, current_user.id, filename, stored)
        except TableError as error:
            db.session.rollback()
            form.file.errors.append(str(error))
        else:
            db.session.commit()
            jobs.start_inspection(job)
            return redirect(url_for("contacts.import_job", job_id=job.id))
    return render_template("contacts/upload.html", org=org, form=form)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """An upload over MAX_CONTENT_LENGTH (refused before any view reads it)."""
    form = UploadForm(formdata=None)
    limit = max(current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024), 1)
    form.file.errors = [_("The file is too large (the limit is %(mb)s MB). Split it into "
                          "smaller files.", mb=limit)]
    return render_template("contacts/upload.html", form=form), 413


def _targets(headers: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The fields every column may be imported as, and each column's own custom field: the
    page grows with the columns, not with their square (10,001 columns took 23 GB)."""
    fields = [(field, str(FIELD_LABELS[field])) for field in FIELDS]
    custom = [(CUSTOM_PREFIX + custom_key(header),
               _("Custom field: %(key)s", key=custom_key(header))) for header in headers]
    return fields, custom


@bp.route("/import/<int:job_id>", methods=["GET", "POST"])
@org_role_required(*ORGANIZERS)
def import_job(org: Organization, job_id: int):
    job = _job_or_404(org, job_id)
    form_class = VcardMappingForm if jobs.is_vcard(job) else MappingForm
    form = form_class(default_region=job.default_region or default_region(org))
    if job.status == ImportStatus.PREVIEW and request.method == "POST":
        # kept for the page again if the form is refused (committed only with the import)
        mapping = [request.form.get(f"col_{i}", IGNORE) for i in range(len(job.headers))]
        job.mapping = [m if is_valid_target(m) else IGNORE for m in mapping]
    if job.status == ImportStatus.PREVIEW and form.validate_on_submit():
        job.default_region = (form.default_region.data or "").upper() or None
        job.tags = [t.strip() for t in (form.tags.data or "").split(",") if t.strip()]
        if jobs.is_vcard(job):
            job.consent_source = form.consent_source.data.strip()
            job.consent_purpose = form.consent_purpose.data.strip()
        if not any(m in ("phone", "mobile", "landline") for m in job.mapping):
            flash(_("Choose at least one column with phone numbers."), "error")
        else:
            jobs.start_job(db.session, job)
            return redirect(url_for("contacts.import_job", job_id=job.id))
    fields, custom = _targets(job.headers)
    return render_template("contacts/import.html", org=org, job=job, form=form,
                           fields=fields, custom=custom, ignore=str(FIELD_LABELS[IGNORE]),
                           crm=detect_crm(job.headers or []), report=jobs.report_path(job).exists())


@bp.get("/import/<int:job_id>/progress")
@org_role_required(*ORGANIZERS)
def import_progress(org: Organization, job_id: int):
    job = _job_or_404(org, job_id)
    if not htmx:
        return redirect(url_for("contacts.import_job", job_id=job.id))
    if job.status == ImportStatus.PREVIEW:  # the file was read: on to the mapping page
        return Response(status=204, headers={
            "HX-Redirect": url_for("contacts.import_job", job_id=job.id)})
    return render_template("contacts/_progress.html", job=job,
                           report=jobs.report_path(job).exists())


@bp.get("/import/<int:job_id>/report.csv")
@org_role_required(*ORGANIZERS)
def import_report(org: Organization, job_id: int):
    job = _job_or_404(org, job_id)
    path = jobs.report_path(job)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"rejected-rows-{job.id}.csv", max_age=0)


@bp.post("/import/<int:job_id>/delete")
@org_role_required(*ORGANIZERS)
def import_delete(org: Organization, job_id: int):
    job = _job_or_404(org, job_id)
    if not CsrfForm().validate_on_submit() or job.status in (
            ImportStatus.CHECKING, ImportStatus.QUEUED, ImportStatus.RUNNING):
        abort(400)
    jobs.delete_job(db.session, job)
    flash(_("The import and its report were deleted."), "success")
    return redirect(url_for("contacts.index"))


# --- one contact ----------------------------------------------------------------------------

def _contact_or_404(org: Organization, contact_id: int):
    contact = get_contact(db.session, org.id, contact_id)
    if contact is None:
        abort(404)
    return contact


@bp.get("/<int:contact_id>")
@org_role_required(*ORGANIZERS)
def contact(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    calls = db.session.scalar(select(func.count()).select_from(Attempt)
                              .where(Attempt.contact_id == person.id))
    return render_template("contacts/contact.html", org=org, contact=person, form=CsrfForm(),
                           opted_out=opted_out_numbers(db.session, org.id, person),
                           calls=calls, erase_word=erase_word())


@bp.post("/<int:contact_id>/do-not-contact")
@org_role_required(*ORGANIZERS)
def do_not_contact(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    set_do_not_contact(db.session, person, request.form.get("value") == "1", current_user.id)
    db.session.commit()
    return redirect(url_for("contacts.contact", contact_id=person.id))


@bp.post("/phones/<int:phone_id>/<action>")
@org_role_required(*ORGANIZERS)
def phone_action(org: Organization, phone_id: int, action: str):
    phone = get_phone(db.session, org.id, phone_id)
    if phone is None:
        abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if action == "opt-out":
        set_number_opted_out(db.session, phone, True, current_user.id)
    elif action == "opt-in":
        set_number_opted_out(db.session, phone, False, current_user.id)
    elif action == "reset":
        reset_phone_status(db.session, phone, current_user.id)
    else:
        abort(404)
    db.session.commit()
    return redirect(url_for("contacts.contact", contact_id=phone.contact_id))


def erase_word() -> str:
    """The word an organizer types to confirm erasing a contact, in their language."""
    return pgettext("the word typed to confirm erasing a contact", "erase")


def confirms_erasure(typed: str | None) -> bool:
    """The translated word or the English one, in any case (phones capitalise)."""
    return (typed or "").strip().casefold() in {erase_word().casefold(), "erase"}


@bp.post("/<int:contact_id>/erase")
@org_role_required(*ORGANIZERS)
def erase(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if not confirms_erasure(request.form.get("confirm")):
        flash(_("Type “%(word)s” to confirm.", word=erase_word()), "error")
        return redirect(url_for("contacts.contact", contact_id=person.id))
    erase_contact(db.session, person, current_user.id)
    flash(_("The contact was erased. Call results remain as anonymous counts."), "success")
    return redirect(url_for("contacts.index"))


@bp.post("/<int:contact_id>/data.json")
@org_role_required(*ORGANIZERS)
def person_json(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    data = person_data(db.session, person, current_user.id)
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="contact-{contact_id}.json"',
                             "Cache-Control": "no-store"})


def register_nav() -> None:
    from web.nav import add_console_nav

    add_console_nav("contacts.index", _l("Contacts"))
