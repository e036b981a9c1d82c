"""Owners' pages: an operation's people and join links; organization links; QR and posters."""

from __future__ import annotations

import base64
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ringround import operations as ops
from ringround.bridging import campaign_line
from ringround.call_in_codes import CallInError, call_in_open, code_expiry, issue_call_in_code
from ringround.enrollment import (
    EnrollmentError,
    create_join_link,
    join_path,
    link_status,
    link_token,
    operation_links,
    operation_members,
    organization_links,
    revoke_link,
    search_people,
)
from ringround.extensions import db, htmx
from ringround.models import (
    LinkRole,
    Membership,
    Operation,
    OperationMember,
    OperationRemoval,
    Organization,
    OrgRole,
    User,
    utcnow,
)
from ringround.signin_links import SIGNIN_LINK_LIFETIME, create_signin_link, signin_path
from sharing.access import (
    managed_link,
    managed_operation,
    qr_response,
    render_no_store,
    template_helpers,
)
from sharing.forms import ActionForm, InviteForm, JoinLinkForm, RoleForm, SearchForm
from sharing.qr import qr_svg
from web.choices import options
from web.context import org_role_required
from web.links import public_url

bp = Blueprint("sharing", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/sharing")
bp.context_processor(template_helpers)

EXPIRY_DELTAS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7),
                 "30d": timedelta(days=30)}


def _expiry(form: JoinLinkForm, org: Organization) -> datetime | None:
    if form.expires_on.data:
        zone = ZoneInfo(org.time_zone or "UTC")
        return datetime.combine(form.expires_on.data, time(23, 59, 59), zone)
    delta = EXPIRY_DELTAS.get(form.expires.data or "")
    return utcnow() + delta if delta else None


def _make_link(form: JoinLinkForm, org: Organization, operation: Operation | None):
    role = LinkRole(form.role.data) if operation else LinkRole.ORGANIZER
    try:
        link, _token = create_join_link(
            db.session, org=org, actor=current_user, operation=operation, role=role,
            expires_at=_expiry(form, org), max_uses=form.max_uses.data, label=form.label.data or "",
        )
    except EnrollmentError as error:
        db.session.rollback()
        flash(str(error), "error")
        return None
    db.session.commit()
    return link


# ---- an operation's people ---------------------------------------------------------------

@bp.get("/operations/<int:operation_id>/people")
@login_required
def operation_people(operation_id: int):
    operation = managed_operation(operation_id)
    members = operation_members(db.session, operation.id)
    users = {u.id: u for u in db.session.scalars(
        db.select(User).where(User.id.in_([m.user_id for m in members])))}
    return render_no_store(
        "sharing/people.html", operation=operation, members=members, users=users,
        links=operation_links(db.session, operation.id), link_form=JoinLinkForm(),
        search_form=SearchForm(request.args), status_of=link_status,
        removed=ops.removed_people(db.session, operation.id),
        call_in=call_in_open(operation),
    )


@bp.post("/operations/<int:operation_id>/links")
@login_required
def create_operation_link(operation_id: int):
    operation = managed_operation(operation_id)
    form = JoinLinkForm()
    if form.validate_on_submit():
        org = db.session.get(Organization, operation.organization_id)
        link = _make_link(form, org, operation)
        if link is not None:
            flash(_("Your link is ready. Share it, show its QR code or print the poster."),
                  "success")
            return redirect(url_for("sharing.link_detail", link_id=link.id))
    else:
        flash(_("Please check the link's settings."), "error")
    return redirect(url_for("sharing.operation_people", operation_id=operation.id))


@bp.get("/operations/<int:operation_id>/people/search")
@login_required
def search_operation_people(operation_id: int):
    operation = managed_operation(operation_id)
    form = SearchForm(request.args)
    results = search_people(db.session, operation.organization_id, form.q.data or "")
    members = {m.user_id for m in operation_members(db.session, operation.id)}
    template = "sharing/_search_results.html" if htmx else "sharing/search.html"
    return render_no_store(template, operation=operation, search_form=form, members=members,
                           results=results)


@bp.post("/operations/<int:operation_id>/people")
@login_required
def invite_person(operation_id: int):
    operation = managed_operation(operation_id)
    form = InviteForm()
    if not form.validate_on_submit() or not (form.user_id.data or "").isdigit():
        abort(400)
    user = db.session.get(User, int(form.user_id.data))
    if user is None or not known_to_organization(operation.organization_id, user.id):
        abort(404)
    try:
        ops.add_member(db.session, operation, current_user, user_id=user.id,
                       role=form.role.data)
    except ops.OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("%(name)s is now in this operation.", name=user.display_name), "success")
    return redirect(url_for("sharing.operation_people", operation_id=operation.id))


def known_to_organization(org_id: int, user_id: int) -> bool:
    """Owners may add only people the organization already knows (never strangers): its
    members, people in its operations, and people removed from them (to add them back)."""
    in_org = db.select(Membership.id).where(Membership.organization_id == org_id,
                                            Membership.user_id == user_id)
    in_ops = (db.select(OperationMember.id)
              .join(Operation, Operation.id == OperationMember.operation_id)
              .where(Operation.organization_id == org_id, OperationMember.user_id == user_id))
    removed = (db.select(OperationRemoval.id)
               .join(Operation, Operation.id == OperationRemoval.operation_id)
               .where(Operation.organization_id == org_id, OperationRemoval.user_id == user_id))
    return db.session.scalar(
        db.select(in_org.exists() | in_ops.exists() | removed.exists())) or False


@bp.post("/operations/<int:operation_id>/people/<int:member_id>/role")
@login_required
def change_role(operation_id: int, member_id: int):
    operation = managed_operation(operation_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.update_member(db.session, operation, member_id, role=form.role.data,
                          actor=current_user)
    except ops.OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The role was changed."), "success")
    return redirect(url_for("sharing.operation_people", operation_id=operation.id))


@bp.post("/operations/<int:operation_id>/people/<int:member_id>/remove")
@login_required
def remove_person(operation_id: int, member_id: int):
    operation = managed_operation(operation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        ops.remove_member(db.session, operation, current_user, member_id)
    except ops.OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("They were removed from this operation."), "success")
    return redirect(url_for("sharing.operation_people", operation_id=operation.id))


@bp.post("/operations/<int:operation_id>/people/<int:member_id>/signin-link")
@login_required
def make_signin_link(operation_id: int, member_id: int):
    """A personal sign-in link for one member, shown once (URL and QR code), never stored."""
    operation = managed_operation(operation_id)
    member = db.session.get(OperationMember, member_id)
    if not ActionForm().validate_on_submit() or member is None \
            or member.operation_id != operation.id:
        abort(404)
    user = db.session.get(User, member.user_id)
    try:
        _link, token = create_signin_link(db.session, actor=current_user, user=user,
                                          operation=operation)
    except EnrollmentError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("sharing.operation_people", operation_id=operation.id))
    db.session.commit()
    url = public_url(signin_path(token))
    qr = "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode()
    return render_no_store("sharing/signin_link_made.html", operation=operation, person=user,
                           url=url, qr=qr, minutes=int(SIGNIN_LINK_LIFETIME.total_seconds() // 60))


@bp.post("/operations/<int:operation_id>/people/<int:member_id>/call-in-code")
@login_required
def make_call_in_code(operation_id: int, member_id: int):
    """A call-in code for one member (who may have no smartphone), to read out to them: shown
    once, audited, stored only as a keyed hash (ringround/call_in_codes.py)."""
    operation = managed_operation(operation_id)
    member = db.session.get(OperationMember, member_id)
    if not ActionForm().validate_on_submit() or member is None \
            or member.operation_id != operation.id:
        abort(404)
    try:
        code = issue_call_in_code(db.session, operation.id, member.user_id,
                                  actor_id=current_user.id)
    except CallInError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("sharing.operation_people", operation_id=operation.id))
    db.session.commit()
    return render_no_store(
        "sharing/call_in_code_made.html", operation=operation,
        person=db.session.get(User, member.user_id), code=code,
        expires=code_expiry(db.session, operation.id, member.user_id),
        number=campaign_line().number(db.session, operation))


# ---- organization links (role organizer) -------------------------------------------------

@bp.route("/console/join-links", methods=["GET", "POST"])
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def organization_join_links(org: Organization):
    form = JoinLinkForm()
    form.role.choices = options([("organizer", _("Organizer"))])
    form.role.data = "organizer"
    if request.method == "POST":
        if form.validate_on_submit():
            link = _make_link(form, org, None)
            if link is not None:
                flash(_("Your link is ready."), "success")
                return redirect(url_for("sharing.link_detail", link_id=link.id))
        else:
            flash(_("Please check the link's settings."), "error")
    operations = db.session.scalars(db.select(Operation).where(
        Operation.organization_id == org.id).order_by(Operation.name)).all()
    return render_no_store("sharing/org_links.html", org=org, form=form, operations=operations,
                           links=organization_links(db.session, org.id), status_of=link_status)


# ---- one link: share it, show who joined, revoke -----------------------------------------

def _link_url(link) -> str | None:
    token = link_token(link)
    return public_url(join_path(token)) if token else None


@bp.get("/links/<int:link_id>")
@login_required
def link_detail(link_id: int):
    link = managed_link(link_id)
    return render_no_store("sharing/link.html", link=link, url=_link_url(link),
                           status=link_status(link), action_form=ActionForm())


@bp.get("/links/<int:link_id>/qr.<fmt>")
@login_required
def link_qr(link_id: int, fmt: str):
    link = managed_link(link_id)
    url = _link_url(link)
    if url is None:
        abort(404)
    name = f"join-link-{link.id}" if request.args.get("download") else None
    return qr_response(url, fmt, name)


@bp.get("/links/<int:link_id>/screen")
@login_required
def link_screen(link_id: int):
    link = managed_link(link_id)
    return render_no_store("sharing/screen.html", title=_share_title(link), url=_link_url(link),
                           qr_src=url_for("sharing.link_qr", link_id=link.id, fmt="svg"),
                           back=url_for("sharing.link_detail", link_id=link.id))


@bp.get("/links/<int:link_id>/poster")
@login_required
def link_poster(link_id: int):
    link = managed_link(link_id)
    instructions = (_("Scan with your phone camera to start calling in a minute. "
                      "No app, no password.") if link.operation_id else
                    _("Scan with your phone camera to join the organizing team."))
    return render_no_store("sharing/poster.html", title=_share_title(link), url=_link_url(link),
                           instructions=instructions,
                           qr_src=url_for("sharing.link_qr", link_id=link.id, fmt="svg"),
                           back=url_for("sharing.link_detail", link_id=link.id))


def _share_title(link) -> str:
    if link.operation is not None:
        return _("Call with us: %(name)s", name=link.operation.name)
    return _("Organize with %(org)s", org=link.organization.name)


@bp.post("/links/<int:link_id>/revoke")
@login_required
def revoke(link_id: int):
    link = managed_link(link_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    revoke_link(db.session, link, current_user)
    db.session.commit()
    flash(_("The link no longer works. People who joined through it stay."), "success")
    return redirect(url_for("sharing.link_detail", link_id=link.id))


# ---- this instance's sign-in page, for organizers --------------------------------------

@bp.get("/share/sign-in.<fmt>")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def sign_in_qr(fmt: str, org: Organization):
    return qr_response(public_url(url_for("auth.login")), fmt, None)
