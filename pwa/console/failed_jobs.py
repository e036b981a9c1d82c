"""The dead-letter page, for instance admins: the jobs whose last try failed, each with a
"Run again" button (ringround/background.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from huey.exceptions import HueyException

from pwa.console.forms import CsrfForm
from ringround.background import failed_jobs, queue_health, run_again
from ringround.extensions import db
from ringround.models import FailedJob

bp = Blueprint("jobs", __name__, url_prefix="/console/jobs")


def instance_admin_required(view: Callable) -> Callable:
    """Views for the instance's admins only (who run the server)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if not current_user.is_instance_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
@instance_admin_required
def failed():
    return render_template("console/failed_jobs.html", jobs=failed_jobs(db.session),
                           health=queue_health(db.session), form=CsrfForm())


@bp.post("/<int:failed_id>/run-again")
@instance_admin_required
def retry(failed_id: int):
    item = db.session.get(FailedJob, failed_id)
    if item is None:
        abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        run_again(db.session, item)
    except ValueError:
        flash(_("This job was already run again."), "error")
    except HueyException:
        db.session.rollback()
        flash(_("This kind of job no longer exists in this version of Ringround: it "
                "cannot run again."), "error")
    else:
        flash(_("The job is queued again: a worker runs it."), "success")
    return redirect(url_for("jobs.failed"))
