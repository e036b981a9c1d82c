"""The caller app's blueprint and its guard: every view is for members of the operation in
its URL, and every answer holding personal data is kept by no HTTP cache."""

from __future__ import annotations

import hashlib
import hmac
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ringround import queue
from ringround.caller_access import caller_access
from ringround.extensions import db
from ringround.models import (
    Operation,
    OperationMember,
    Organization,
)

bp = Blueprint("caller", __name__)


def _session_user_id() -> int | None:
    """The user id in the signed session (Flask-Login's `"<id>:<version>"`), unchecked: only a
    hint for loading the user with the operation; Flask-Login still checks the session."""
    user_id = str(session.get("_user_id") or "").partition(":")[0]
    return int(user_id) if user_id.isdigit() else None

def member_required(api: bool = False):
    """Views for members of the operation in the URL; passes `operation` to the view.

    One query loads the operation, the user and the membership (`caller_access`); the user
    is then in the session's identity map when Flask-Login loads it. The views keep what was
    loaded across their commits (`expire_on_commit` off for the request): nothing they
    commit changes the user or the operation, which would otherwise be read again."""

    def decorator(view):
        @wraps(view)
        def wrapped(operation_id: int, *args, **kwargs):
            access = caller_access(db.session, operation_id, _session_user_id())
            if not current_user.is_authenticated:
                if api:
                    return jsonify(error=_("Please sign in again.")), 401
                return redirect(url_for("auth.login", next=request.path))
            if access is None:
                abort(404)
            role = access.role
            if access.user is None or access.user.id != current_user.id:
                # Signed in some other way (a remember cookie): ask for the membership.
                role = db.session.scalar(select(OperationMember.role).where(
                    OperationMember.operation_id == access.operation.id,
                    OperationMember.user_id == current_user.id))
            if role is None:
                abort(403)
            g.caller_access = access
            session_now = db.session()
            expiring, session_now.expire_on_commit = session_now.expire_on_commit, False
            try:
                return view(*args, operation=access.operation, **kwargs)
            finally:
                session_now.expire_on_commit = expiring

        return wrapped

    return decorator

def _version() -> tuple | None:
    """The operation's settings version (see `caller_access`), to use its cached settings."""
    access = g.get("caller_access")
    return access.settings_version if access is not None else None

def _no_store(response: Response) -> Response:
    """Cards and API answers hold personal data: no HTTP cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response

def _organization_name(operation: Operation) -> str:
    access = g.get("caller_access")
    if access is not None and access.operation is operation:
        return access.organization_name
    org = db.session.get(Organization, operation.organization_id)
    return org.name if org else ""

def _proof_key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"ringround-lease-proof-v1", hashlib.sha256).digest()

def _limits() -> queue.SeeingLimits:
    """How many people a volunteer may be shown (README, "Configuration")."""
    config = current_app.config
    return queue.SeeingLimits(config["CALLER_PEOPLE_PER_MINUTE"],
                              config["CALLER_PEOPLE_PER_HOUR"])

def _limited_json(seconds: int) -> Response:
    """429 with the wait, in words and in seconds, for the phone's script and other clients."""
    response = jsonify(error=queue.limited_message(seconds), code="too_many_people",
                       retry_after=seconds)
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return _no_store(response)
