"""Organizer pages for call operations: the blueprint and its guard, the organization's
overview, creating a draft, the lifecycle buttons (activate, pause, resume, end, duplicate)
and deleting a draft. The wizard (`operation_wizard`, `operation_questions`,
`operation_people`) and the dashboard (`operation_dashboard`) add their routes to `bp`.

Only organization admins and organizers, and the operation's owners, reach these pages;
agents get 403. Every view works without JavaScript; with htmx it swaps fragments.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from pwa.console import operation_forms as forms
from ringround import operations as ops
from ringround.extensions import db
from ringround.models import Operation, Organization, OrgRole
from ringround.operation_stats import organization_progress
from web.context import current_org, current_role, org_role_required
from web.nav import add_console_nav

bp = Blueprint("operations", __name__, url_prefix="/console/operations")


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


def join_links_url(op: Operation) -> str | None:
    """The sharing part's page of join links and QR codes for this operation, when present."""
    if "sharing.operation_people" not in current_app.view_functions:
        return None
    return url_for("sharing.operation_people", operation_id=op.id)


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
