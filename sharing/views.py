"""Sharing pages. For now: a QR code of this instance's sign-in page for organizers."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from pwa.context import org_role_required
from ringround.links import public_url
from ringround.models import Organization, OrgRole
from sharing.qr import qr_png, qr_svg

bp = Blueprint("sharing", __name__, template_folder="templates")


@bp.get("/share/sign-in.<fmt>")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def sign_in_qr(fmt: str, org: Organization):
    link = public_url(url_for("auth.login"))
    if fmt == "svg":
        return Response(qr_svg(link), mimetype="image/svg+xml")
    if fmt == "png":
        return Response(qr_png(link), mimetype="image/png")
    return Response(status=404)
