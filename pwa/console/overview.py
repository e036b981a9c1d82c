"""The organizer console: dashboard, switching organization, settings, managing members."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from pwa.console.forms import AddMemberForm, OrganizationForm, SettingsForm, SwitchOrgForm
from ringround.accounts import (
    AccountError,
    add_organizer,
    create_organization,
    may_create_organizations,
    organizations_of,
    role_in,
)
from ringround.background import queue_health
from ringround.backups import backup_status
from ringround.dashboard import organization_overview
from ringround.extensions import db
from ringround.models import Membership, Organization, OrgRole
from ringround.organizations import (
    OrganizationSettings,
    SettingsError,
    settings_of,
    update_settings,
)
from web.context import ORG_SESSION_KEY, current_role, org_role_required
from web.nav import add_console_nav

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.get("/")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def dashboard(org: Organization):
    role = current_role()
    return render_template(
        "console/dashboard.html", org=org, overview=organization_overview(db.session, org.id),
        role=role, backups=backup_status() if role == OrgRole.ADMIN else None,
        health=queue_health(db.session) if current_user.is_instance_admin else None,
    )


@bp.get("/organizations")
@login_required
def organizations():
    return render_template(
        "console/organizations.html", memberships=organizations_of(db.session, current_user),
        switch_form=SwitchOrgForm(), new_form=OrganizationForm(),
        may_create=_may_create_organizations(),
    )


def _may_create_organizations() -> bool:
    return may_create_organizations(
        current_user, current_app.config.get("ORGANIZATIONS_OPEN_TO_ALL", False))


@bp.post("/organizations/switch")
@login_required
def switch_organization():
    form = SwitchOrgForm()
    if not form.validate_on_submit() or not form.org_id.data.isdigit():
        abort(400)
    org_id = int(form.org_id.data)
    if role_in(db.session, current_user, org_id) is None:
        abort(403)
    session[ORG_SESSION_KEY] = org_id
    return redirect(url_for("console.dashboard"))


@bp.post("/organizations")
@login_required
def new_organization():
    if not _may_create_organizations():
        abort(403)
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            org = create_organization(db.session, name=form.name.data, admin=current_user)
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            session[ORG_SESSION_KEY] = org.id
            flash(_("%(org)s is ready.", org=org.name), "success")
            return redirect(url_for("console.dashboard"))
    else:
        flash(_("The organization needs a name."), "error")
    return redirect(url_for("console.organizations"))


@bp.route("/members", methods=["GET", "POST"])
@org_role_required(OrgRole.ADMIN)
def members(org: Organization):
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            user = add_organizer(
                db.session, org=org, actor=current_user, email=form.email.data,
                password=form.password.data or None, display_name=form.display_name.data,
                role=OrgRole(form.role.data),
            )
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("%(name)s was added.", name=user.display_name), "success")
            return redirect(url_for("console.members"))
    rows = db.session.scalars(
        db.select(Membership).where(Membership.organization_id == org.id)
        .order_by(Membership.created_at)
    ).all()
    return render_template("console/members.html", org=org, form=form, memberships=rows)


@bp.route("/settings", methods=["GET", "POST"])
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def settings(org: Organization):
    """The organization's settings: admins change them, organizers see them."""
    is_admin = current_role() == OrgRole.ADMIN
    if request.method == "POST" and not is_admin:
        abort(403)
    form = SettingsForm()
    if request.method == "GET":
        saved = settings_of(org)
        form.name.data, form.help_text.data = saved.name, saved.help_text
        form.country.data, form.time_zone.data = saved.country, saved.time_zone
        form.window_start.data, form.window_end.data = saved.window_start, saved.window_end
        form.language.data = saved.language
    elif form.validate_on_submit():
        try:
            update_settings(db.session, org, current_user, OrganizationSettings(
                form.name.data, form.country.data, form.time_zone.data, form.help_text.data,
                form.window_start.data, form.window_end.data,
                form.language.data or org.language))
        except SettingsError as error:
            db.session.rollback()
            form[error.field].errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Settings saved."), "success")
            return redirect(url_for("console.settings"))
    return render_template("console/settings.html", org=org, form=form, can_edit=is_admin)


def register_nav() -> None:
    add_console_nav("console.settings", _l("Settings"))
