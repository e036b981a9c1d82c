"""Importing contacts: the upload, the mapping preview, the progress bar, the rejected rows'
report, and deleting an import."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileRequired, MultipleFileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from pwa.console.contacts import ORGANIZERS, bp
from pwa.console.forms import CsrfForm
from ringround.csv_stream import csv_chunks
from ringround.extensions import db, htmx
from ringround.models import ImportJob, ImportStatus, Organization
from ringround.organizations import default_region
from ringround.people import jobs
from ringround.people.headers import (
    CUSTOM_PREFIX,
    FIELDS,
    IGNORE,
    custom_key,
    detect_crm,
    is_valid_target,
)
from ringround.people.import_words import (
    FIELD_LABELS,
    file_problem,
    report_words,
    worded_rows,
)
from ringround.people.reader import TableError
from web.context import org_role_required


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
            form.file.errors.append(file_problem(error))
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
                           crm=detect_crm(job.headers or []), report=jobs.report_path(job).exists(),
                           failure=file_problem(job.message))


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
                           report=jobs.report_path(job).exists(),
                           failure=file_problem(job.message))


@bp.get("/import/<int:job_id>/report.csv")
@org_role_required(*ORGANIZERS)
def import_report(org: Organization, job_id: int):
    job = _job_or_404(org, job_id)
    path = jobs.report_path(job)
    if not path.exists():
        abort(404)
    # Worded in the reader's language as it streams (`import_words`), with a BOM for Excel.
    rows = worded_rows(path, report_words())
    return Response(csv_chunks(rows, bom=True), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="rejected-rows-{job.id}.csv"',
        "Cache-Control": "no-store"})


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
