"""The organizer's contact base: the list with its filter builder and live count, saved
lists, bulk tags and exports. Imports (`contact_imports`), one person's page (`contact_page`)
and its edit form (`contact_editing`) add their routes to `bp`."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pwa.console.forms import CsrfForm
from ringround.extensions import db
from ringround.models import Contact, ImportJob, Organization, OrgRole, SavedList, Tag
from ringround.people.crm_export import PROFILES, RESULTS
from ringround.people.export import contacts_stream
from ringround.people.filters import (
    FilterError,
    bulk_tag,
    contact_ids_select,
    count_matching,
    filter_from_args,
    filter_to_args,
    save_list,
)
from web.context import org_role_required
from web.nav import add_console_nav

bp = Blueprint("contacts", __name__, url_prefix="/console/contacts")
ORGANIZERS = (OrgRole.ADMIN, OrgRole.ORGANIZER)
PAGE = 50


def register_nav() -> None:
    add_console_nav("contacts.index", _l("Contacts"))


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
