"""The wizard's people step: adding a member and changing or removing one."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pwa.console import operation_forms as forms
from pwa.console.operation_pages import bp, managed_operation
from pwa.console.operation_wizard import render_step
from ringround import operations as ops
from ringround.extensions import db, htmx
from ringround.models import Operation, Organization


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
