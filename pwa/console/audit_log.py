"""The audit log's page and its CSV download, for the organization's admins
(ringround/audit_log.py reads and words the entries)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ringround.audit_log import (
    AUDIT_READERS,
    KINDS,
    AuditFilter,
    Words,
    audit_csv_rows,
    audit_log_export,
    audit_page,
    days_filter,
    local_zone,
)
from ringround.csv_stream import audited_csv
from ringround.extensions import db
from ringround.models import Organization
from web.context import org_role_required
from web.nav import add_console_nav

bp = Blueprint("audit", __name__, url_prefix="/console/audit")


def register_nav() -> None:
    add_console_nav("audit.index", _l("Audit log"), AUDIT_READERS)


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _filter(org: Organization) -> tuple[AuditFilter, dict[str, str]]:
    """The filter the query string asks for, and its arguments as understood (for links)."""
    kind, since, until = request.args.get("kind") or None, _day("since"), _day("until")
    flt = days_filter(kind, since, until, org.time_zone)
    args = {"kind": flt.kind, "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None}
    return flt, {k: v for k, v in args.items() if v}


@bp.get("/")
@org_role_required(*AUDIT_READERS)
def index(org: Organization):
    flt, args = _filter(org)
    page = audit_page(db.session, org.id, flt, request.args.get("before"))
    return render_template("console/audit_log.html", org=org, page=page, args=args,
                           kinds=KINDS, zone=local_zone(org.time_zone),
                           paged="before" in request.args)


@bp.get("/audit-log.csv")
@org_role_required(*AUDIT_READERS)
def export(org: Organization):
    flt, _args = _filter(org)
    org_id, zone, actor_id, words = org.id, org.time_zone, current_user.id, Words.now()
    stream = audited_csv(
        db.engine, lambda session: audit_csv_rows(session, org_id, flt, zone, words),
        lambda session, rows: audit_log_export(session, org_id, actor_id, rows, flt))
    return Response(stream, mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="audit-log-{org.slug}.csv"',
                             "Cache-Control": "no-store"})
