"""Who may manage what on the sharing pages, and helpers the views share."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, url_for
from flask_login import current_user

from ringround.accounts import role_in
from ringround.extensions import db
from ringround.models import JoinLink, Operation, OrgRole
from ringround.operation_members import Standing, standing_in
from sharing.qr import qr_png, qr_svg


def managed_operation(operation_id: int) -> Operation:
    """The operation, if the signed-in user may manage its people (else 404 or 403).

    Outsiders get 404 (they must not learn that it exists); its own agents get 403.
    """
    operation = db.session.get(Operation, operation_id)
    if operation is None:
        abort(404)
    standing = standing_in(db.session, operation, current_user)
    if not standing.manages:
        abort(403 if standing is Standing.AGENT else 404)
    return operation


def managed_link(link_id: int) -> JoinLink:
    """A join link the signed-in user may see and revoke."""
    link = db.session.get(JoinLink, link_id)
    if link is None:
        abort(404)
    if link.operation_id is not None:
        managed_operation(link.operation_id)
        return link
    if role_in(db.session, current_user, link.organization_id) in (OrgRole.ADMIN,
                                                                    OrgRole.ORGANIZER):
        return link
    abort(404)


def qr_response(data: str, fmt: str, download_name: str | None) -> Response:
    """The QR code of `data` as SVG or PNG; an attachment when `download_name` is given."""
    if fmt == "svg":
        response = Response(qr_svg(data), mimetype="image/svg+xml")
    elif fmt == "png":
        response = Response(qr_png(data), mimetype="image/png")
    else:
        abort(404)
    if download_name:
        response.headers["Content-Disposition"] = f'attachment; filename="{download_name}.{fmt}"'
    # The image encodes a secret link: keep it out of shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def no_store(response: Response) -> Response:
    """Pages showing a secret or someone's details must not be cached or leak a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def caller_url(operation_id: int) -> str:
    """The caller app of an operation (built by the caller app's blueprint, `caller.home`)."""
    if "caller.home" in current_app.view_functions:
        return url_for("caller.home", operation_id=operation_id)
    return f"/call/{operation_id}"


def render_no_store(template: str, http_status: int = 200, **context) -> Response:
    """Render a page that must not be cached (see `no_store`)."""
    response = current_app.make_response((render_template(template, **context), http_status))
    return no_store(response)


def template_helpers() -> dict:
    """Helpers every sharing template may use."""

    def masked(phone: str | None) -> str:
        return f"•••• {phone[-4:]}" if phone else ""

    return {
        "masked": masked,
        "kiosk_seconds": current_app.config.get("KIOSK_RETURN_SECONDS", 6),
    }
