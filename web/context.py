"""The organization a request acts in, and the role checks of every page of the console
(whichever blueprint serves it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, redirect, session, url_for
from flask_login import current_user

from ringround.accounts import organizations_of, role_in
from ringround.extensions import db
from ringround.models import Organization, OrgRole

ORG_SESSION_KEY = "org_id"


def current_org() -> Organization | None:
    """The organization chosen in this session, if the user is (still) a member of it."""
    if "current_org" in g:
        return g.current_org
    org = None
    if current_user.is_authenticated:
        org_id = session.get(ORG_SESSION_KEY)
        if org_id is not None and role_in(db.session, current_user, org_id) is not None:
            org = db.session.get(Organization, org_id)
        if org is None:
            memberships = organizations_of(db.session, current_user)
            if memberships:
                org = memberships[0][0]
                session[ORG_SESSION_KEY] = org.id
    g.current_org = org
    return org


def home_url() -> str:
    """Where a signed-in user starts: the console for organization members, else the caller app."""
    if organizations_of(db.session, current_user):
        return url_for("console.dashboard")
    return url_for("caller.start")


def current_role() -> OrgRole | None:
    org = current_org()
    return role_in(db.session, current_user, org.id) if org else None


def org_role_required(*roles: OrgRole) -> Callable:
    """Views for signed-in members of the current organization holding one of `roles`."""
    allowed = set(roles) or set(OrgRole)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login"))
            org = current_org()
            if org is None:
                abort(403)
            if current_role() not in allowed:
                abort(403)
            return view(*args, org=org, **kwargs)

        return wrapped

    return decorator
