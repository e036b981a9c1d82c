"""What the phone needs to call offline: a batch of people, a fresh CSRF token, giving back
who was not called, and the service worker that keeps the app's shell."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import (
    Response,
    current_app,
    jsonify,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from pwa.caller.base import _limited_json, _limits, _no_store, bp, member_required
from pwa.caller.cards import BATCH_DEFAULT, _lease_json
from ringround import queue
from ringround.calling import offline_refusal
from ringround.extensions import db, limiter
from ringround.models import (
    Operation,
)

# Taking batches again and again must not become a way to read the whole list (per volunteer:
# a phone bank's volunteers often share one address).
BATCH_RATE_LIMIT = "20 per hour"
STATIC = Path(__file__).resolve().parent.parent / "static"
# What the service worker keeps; its version is a hash of their contents.
SHELL_ASSETS = ("js/caller.js", "js/sw.js", "css/app.css", "css/caller.css",
                "manifest.webmanifest", "icons/icon-192.png", "icons/icon-512.png")


@bp.get("/api/call/<int:operation_id>/token")
@member_required(api=True)
def api_token(operation: Operation):
    """A fresh CSRF token: an offline phone's token may have expired by the time it syncs."""
    return _no_store(jsonify(csrf_token=generate_csrf()))

@bp.post("/api/call/<int:operation_id>/batch")
@limiter.limit(BATCH_RATE_LIMIT, key_func=lambda: f"caller:{current_user.get_id()}")
@member_required(api=True)
def api_batch(operation: Operation):
    """Lease up to n people for offline calling; the phone keeps their cards until returned.
    Refused (409) when the operation calls through the campaign line only: nothing to dial."""
    refusal = offline_refusal(operation)
    if refusal is not None:
        return _no_store(jsonify(error=refusal, code="line_only", leases=[])), 409
    body = request.get_json(silent=True) or {}
    most = current_app.config["CALLER_BATCH_MAX"]
    try:
        n = max(1, min(most, int(body.get("n", BATCH_DEFAULT))))
    except (TypeError, ValueError):
        n = min(most, BATCH_DEFAULT)
    # The batch is every lease the agent holds (the open card counts as one of the n), so
    # "take 5" puts exactly 5 people on the phone; never more than CALLER_BATCH_MAX held
    # however often, and never more than the per-minute and per-hour limits allow.
    n -= len(queue.held_leases(db.session, operation, current_user))
    if n > 0:
        try:
            queue.lease_batch(db.session, operation, current_user, n, limits=_limits())
        except queue.LimitReachedError as limited:
            db.session.rollback()
            return _limited_json(limited.retry_after)
        db.session.commit()
    # The batch is every live lease the agent holds here (the open card included).
    leases = queue.held_leases(db.session, operation, current_user)
    rows = [_lease_json(operation, lease, i) for i, lease in enumerate(leases)]
    rows = [row for row in rows if row]
    message = None if rows else _("Nobody can be called right now.")
    return _no_store(jsonify(leases=rows, message=message))

@bp.post("/api/call/<int:operation_id>/return")
@member_required(api=True)
def api_return(operation: Operation):
    """Give back the people of an offline batch that were not called."""
    ids = (request.get_json(silent=True) or {}).get("target_ids") or []
    ids = [target_id for target_id in ids if isinstance(target_id, int)]
    returned = queue.return_batch(db.session, operation, current_user, ids) if ids else 0
    db.session.commit()
    return _no_store(jsonify(returned=returned))

@cache
def _assets_version(root: str) -> str:
    digest = hashlib.sha256()
    for name in SHELL_ASSETS:
        digest.update((Path(root) / name).read_bytes())
    return digest.hexdigest()[:16]

@bp.get("/sw.js")
def service_worker():
    """The service worker, from the root so its scope covers /call/ (and nothing is cached)."""
    version = _assets_version(str(STATIC))
    if current_app.debug:
        _assets_version.cache_clear()
    script = (STATIC / "js" / "sw.js").read_text().replace("__VERSION__", version)
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response
