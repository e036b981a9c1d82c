"""The front door, health check, and front-end packages served from our own origin."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, send_from_directory, url_for
from flask_login import current_user
from sqlalchemy import text

from ringround.accounts import is_fresh_instance
from ringround.extensions import db
from web.context import home_url

bp = Blueprint(
    "pwa", __name__, template_folder="templates", static_folder="static",
    static_url_path="/static",
)

# Front-end files installed by npm (package.json) and served by us: never from a CDN.
VENDOR_FILES = {"htmx.min.js": "htmx.org/dist/htmx.min.js"}


@bp.get("/")
def index():
    if is_fresh_instance(db.session):
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(home_url())
    return redirect(url_for("auth.login"))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as error:  # noqa: BLE001 - the health check reports any failure
        current_app.logger.warning("health check: database unreachable: %s", error)
        database = "error"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", database=database), status


@bp.get("/vendor/<name>")
def vendor(name: str):
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    path = Path(current_app.config["NODE_MODULES"]) / relative
    if not path.exists():
        current_app.logger.error("%s is missing: run `npm ci` (see README)", path)
        abort(404)
    return send_from_directory(path.parent, path.name, max_age=86400)
