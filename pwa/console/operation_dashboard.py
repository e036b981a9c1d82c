"""An operation's dashboard (its figures polled by htmx) and its results export."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pwa.console import operation_forms as forms
from pwa.console.charts import bar_chart
from pwa.console.operation_pages import bp, join_links_url, managed_operation
from ringround.extensions import db
from ringround.models import Operation, OperationRole, Organization
from ringround.operation_dispositions import disposition_rows
from ringround.operation_stats import operation_figures, results_stream
from ringround.people.crm_export import PROFILES, RESULTS
from ringround.queue import SeeingLimits, caller_alerts
from ringround.queue.reasons import reason_label

# --- dashboard and export ------------------------------------------------------------------

# The dashboard polls every 10 s; polled call figures may be that old (targets are always
# live). Opening the page always computes them afresh.
FIGURES_MAX_AGE = 10


def _figures_context(op: Operation, max_age: float = 0) -> dict:
    figures = operation_figures(db.session, op, max_age=max_age)
    charts = {t["id"]: bar_chart(t["items"], t["text"]) for t in figures.tallies if t["items"]}
    limits = SeeingLimits(current_app.config["CALLER_PEOPLE_PER_MINUTE"],
                          current_app.config["CALLER_PEOPLE_PER_HOUR"])
    return {"op": op, "figures": figures, "charts": charts, "reason_label": reason_label,
            "rows": {row.code: row.label for row in disposition_rows(op)},
            "alerts": caller_alerts(db.session, op.id, limits)}


@bp.get("/<int:op_id>")
@managed_operation
def dashboard(op: Operation, org: Organization):
    return render_template("operations/dashboard.html", org=org, form=forms.EmptyForm(),
                           join_links_url=join_links_url(op),
                           is_owner=any(m.user_id == current_user.id
                                        and m.role is OperationRole.OWNER for m in op.members),
                           profiles=[(name, p.label) for name, p in PROFILES.items()],
                           **_figures_context(op))


@bp.get("/<int:op_id>/figures")
@managed_operation
def figures(op: Operation, org: Organization):
    return render_template("operations/_figures.html",
                           **_figures_context(op, max_age=FIGURES_MAX_AGE))


@bp.get("/<int:op_id>/results.csv")
@managed_operation
def export(op: Operation, org: Organization):
    profile = request.args.get("profile") or None
    results = request.args.get("results") or "tags"
    if (profile and profile not in PROFILES) or results not in RESULTS:
        flash(_("Choose one of the export formats offered."), "error")
        return redirect(url_for("operations.dashboard", op_id=op.id))
    response = Response(results_stream(db.engine, op, current_user.id, profile, results),
                        mimetype="text/csv")
    suffix = f"-{profile}" if profile else ""
    response.headers["Content-Disposition"] = \
        f'attachment; filename="operation-{op.id}{suffix}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
