"""The caller app: one person at a time, results through an offline-safe outbox.

Pages live under /call/<operation_id>; the phone's JavaScript talks to /api/call/<operation_id>.
Every view checks that the signed-in user is a member (agent or owner) of the operation, and
every card shows only the fields the operation exposes.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, time
from functools import cache, wraps
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from pwa.formats import clock
from ringround import queue
from ringround.audit import record_audit
from ringround.calling import (
    SKIP_REASONS,
    Card,
    ResultError,
    build_card,
    caller_dispositions,
    card_script,
    chosen_disposition,
    clean_result,
    lease_proof,
    local_moment,
    milestone_reached,
    needs_wrap_up,
    questions_of,
    result_refusal,
)
from ringround.extensions import db, htmx, limiter
from ringround.models import (
    Attempt,
    Contact,
    Operation,
    OperationMember,
    OperationState,
    Organization,
    Target,
    utcnow,
)
from ringround.operation_fields import editable_field_keys
from ringround.operations import can_manage

bp = Blueprint("caller", __name__)

BATCH_DEFAULT = 5
# Taking batches again and again must not become a way to read the whole list (per volunteer:
# a phone bank's volunteers often share one address).
BATCH_RATE_LIMIT = "20 per hour"
SYNC_MAX = 100
EDIT_WINDOW = queue.EDIT_WINDOW
CARD_ID_NAMESPACE = uuid.UUID("9b0e8c52-4f0c-4d1e-9a57-2f1d3c6b7a10")
STATIC = Path(__file__).resolve().parent / "static"
# What the service worker keeps; its version is a hash of their contents.
SHELL_ASSETS = ("js/caller.js", "js/sw.js", "css/app.css", "css/caller.css",
                "manifest.webmanifest", "icons/icon-192.png", "icons/icon-512.png")


def member_required(api: bool = False):
    """Views for members of the operation in the URL; passes `operation` to the view."""

    def decorator(view):
        @wraps(view)
        def wrapped(operation_id: int, *args, **kwargs):
            if not current_user.is_authenticated:
                if api:
                    return jsonify(error=_("Please sign in again.")), 401
                return redirect(url_for("auth.login", next=request.path))
            operation = db.session.get(Operation, operation_id)
            if operation is None:
                abort(404)
            member = db.session.scalar(select(OperationMember).where(
                OperationMember.operation_id == operation.id,
                OperationMember.user_id == current_user.id))
            if member is None:
                abort(403)
            return view(*args, operation=operation, **kwargs)

        return wrapped

    return decorator


def _no_store(response: Response) -> Response:
    """Cards and API answers hold personal data: no HTTP cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- cards


def _card_for_lease(operation: Operation, lease) -> Card | None:
    contact = db.session.get(Contact, lease.contact_id)
    if contact is None:
        return None
    card = build_card(operation, contact, lease.target_id, lease.phone_e164, lease.expires_at,
                      caller_name=current_user.display_name,
                      organization_name=_organization_name(operation))
    # The same lease shows the same id after a reload (e.g. the redirect after a bridged
    # call), so a result sent without JavaScript joins the call's attempt.
    seed = f"{current_user.id}:{lease.target_id}:{lease.expires_at.isoformat()}"
    card.client_id = str(uuid.uuid5(CARD_ID_NAMESPACE, seed))
    card.lease_proof = lease_proof(_proof_key(), current_user.id, operation.id, lease.target_id)
    return card


def _organization_name(operation: Operation) -> str:
    org = db.session.get(Organization, operation.organization_id)
    return org.name if org else ""


def _shell_script(operation: Operation) -> str:
    """The script on a page without a person: the person's placeholders stay empty."""
    return card_script(operation, [], current_user.display_name, _organization_name(operation))


def _proof_key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"ringround-lease-proof-v1", hashlib.sha256).digest()


def _limits() -> queue.SeeingLimits:
    """How many people a volunteer may be shown (README, "Configuration")."""
    config = current_app.config
    return queue.SeeingLimits(config["CALLER_PEOPLE_PER_MINUTE"],
                              config["CALLER_PEOPLE_PER_HOUR"])


def _limited_message(seconds: int) -> str:
    return _("You have seen many people very quickly; take a breath, you can go on in "
             "%(n)d seconds.", n=seconds)


def _current_card(operation: Operation) -> tuple[Card | None, int | None]:
    """The target this agent already holds, else a newly leased one, else None; and, when
    the limits refused a new one, in how many seconds the agent may go on."""
    held = queue.held_leases(db.session, operation, current_user)
    try:
        lease = held[0] if held else queue.lease_next(db.session, operation, current_user,
                                                      limits=_limits())
    except queue.LimitReachedError as limited:
        db.session.rollback()
        return None, limited.retry_after
    db.session.commit()
    return (_card_for_lease(operation, lease) if lease else None), None


def _empty_state(operation: Operation, wait_seconds: int | None = None) -> dict:
    """Why nobody is on the card, and when someone will be ("from 17:00 their time")."""
    now = utcnow()
    found = queue.next_callable_zone(db.session, operation, now=now)
    state = {"state": operation.state, "next_at": None, "local_time": None, "wait_minutes": None,
             "window_start": clock(operation.window_start),
             "window_end": clock(operation.window_end),
             "limited": _limited_message(wait_seconds) if wait_seconds else None}
    if found is not None:
        next_at, zone = found
        state["next_at"] = next_at
        state["local_time"] = clock(local_moment(next_at, zone))
        if next_at > now:
            state["wait_minutes"] = max(1, round((next_at - now).total_seconds() / 60))
    return state


def _progress(operation: Operation) -> dict:
    now = utcnow()
    stats = queue.stats_for_agent(db.session, operation.id, current_user.id, now.date())
    first_today = db.session.scalar(select(func.min(Attempt.created_at)).where(
        Attempt.operation_id == operation.id, Attempt.agent_id == current_user.id,
        Attempt.created_at >= datetime.combine(now.date(), time(0), tzinfo=UTC)))
    last = _last_attempt(operation)
    return {
        "calls": stats.calls, "reached": stats.people_reached,
        "milestone": milestone_reached(stats.calls),
        "wrap_up": needs_wrap_up(first_today, now),
        "last_until": (last.recorded_at + EDIT_WINDOW) if last else None,
    }


def _render_call(operation: Operation, card: Card | None, oob: bool = False,
                 wait_seconds: int | None = None) -> str:
    return render_template(
        "caller/_call.html", operation=operation, card=card, oob=oob,
        questions=questions_of(operation),
        groups=caller_dispositions(operation), skip_reasons=_skip_reasons(),
        empty=None if card else _empty_state(operation, wait_seconds),
        progress=_progress(operation),
    )


def _skip_reasons() -> list[tuple[str, str]]:
    labels = {"language": _("They may not speak my language"),
              "knows_person": _("I know this person"),
              "uncomfortable": _("I would rather not call them"),
              "other": _("Another reason")}
    return [(code, labels[code]) for code in SKIP_REASONS]


def _manage_url(operation: Operation) -> str | None:
    """The operation's dashboard, for those who run it (an owner who joined by link has no
    other way there from the caller app)."""
    if can_manage(db.session, operation, current_user):
        return url_for("operations.dashboard", op_id=operation.id)
    return None


def _page(operation: Operation, without_person: bool, status: int = 200, **kept):
    card, wait = (None, None) if without_person else _current_card(operation)
    return _no_store(Response(status=status, response=render_template(
        "caller/page.html", operation=operation, shell=without_person, card=card,
        manage_url=_manage_url(operation),
        script_html=_shell_script(operation) if without_person else "",
        questions=questions_of(operation),
        groups=caller_dispositions(operation), skip_reasons=_skip_reasons(),
        empty=None if card or without_person else _empty_state(operation, wait),
        progress=_progress(operation), batch_default=BATCH_DEFAULT,
        batch_max=current_app.config["CALLER_BATCH_MAX"],
        **kept,
    )))


@bp.get("/call/")
def start():
    """The installed app's start URL: the operation to call for, or a choice of them."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    operations = list(db.session.scalars(
        select(Operation).join(OperationMember).where(
            OperationMember.user_id == current_user.id,
            Operation.state != OperationState.ENDED,
        ).order_by(Operation.id.desc())))
    managed = {op.id: url for op in operations if (url := _manage_url(op))}
    if len(operations) == 1 and not managed:
        return redirect(url_for("caller.home", operation_id=operations[0].id))
    return render_template("caller/start.html", operations=operations, managed=managed)


@bp.get("/call/<int:operation_id>")
@member_required()
def home(operation: Operation):
    return _page(operation, without_person=False)


@bp.get("/call/<int:operation_id>/shell")
@member_required()
def shell(operation: Operation):
    """The page without a person on it: what the service worker keeps for offline use."""
    return _page(operation, without_person=True)


@bp.get("/call/<int:operation_id>/card")
@member_required()
def card(operation: Operation):
    if not htmx:
        return redirect(url_for("caller.home", operation_id=operation.id))
    card, wait = _current_card(operation)
    return _no_store(Response(_render_call(operation, card, oob=True, wait_seconds=wait)))


@bp.get("/call/<int:operation_id>/progress")
@member_required()
def progress(operation: Operation):
    """The caller's own figures (calls today, people reached), refreshed after a sync."""
    return _no_store(Response(render_template(
        "caller/_progress.html", operation=operation, progress=_progress(operation))))


def _record(operation: Operation, payload: dict) -> tuple[str, object]:
    """Record one result; returns ("accepted", outcome) or ("rejected", message)."""
    target = db.session.get(Target, payload.get("target_id") or 0)
    if target is None or target.operation_id != operation.id:
        return "rejected", _("That person is not part of this operation.")
    refusal = result_refusal(db.session, _proof_key(), current_user.id, target, payload)
    if refusal is not None:
        return "rejected", refusal
    contact = db.session.get(Contact, target.contact_id) if target.contact_id else None
    zone = target.time_zone or (contact.time_zone if contact else None)
    try:
        values = clean_result(operation, payload, editable_field_keys(db.session, operation),
                              time_zone=zone)
    except ResultError as error:
        return "rejected", str(error)
    started = db.session.scalar(select(Attempt).where(Attempt.client_id == values["client_id"]))
    if started is not None and started.recorded_at is None:
        values["method"] = started.method  # a bridged call placed from this card
    result = queue.ResultIn(operation_id=operation.id, agent_id=current_user.id, **values)
    try:
        outcome = queue.record_result(db.session, result)
    except queue.QueueError as error:
        db.session.rollback()
        return "rejected", str(error)
    db.session.commit()
    return "accepted", outcome


def _edit(operation: Operation, payload: dict) -> tuple[str, object]:
    """Change a result recorded earlier (an edit made on the phone after it was sent);
    returns ("accepted", outcome or None) or ("rejected", message). A resend changes
    nothing."""
    result_id = str(payload.get("result_client_id") or "")
    attempt = db.session.scalar(select(Attempt).where(Attempt.client_id == result_id))
    if (attempt is None or attempt.operation_id != operation.id
            or attempt.agent_id != current_user.id or attempt.target_id is None):
        return "rejected", _("There is no such result of yours to change.")
    target = db.session.get(Target, attempt.target_id)
    try:
        values = clean_result(operation, {**payload, "client_id": result_id,
                                          "target_id": attempt.target_id}, set(),
                              time_zone=target.time_zone if target else None)
    except ResultError as error:
        return "rejected", str(error)
    if (attempt.disposition, attempt.answers or {}, attempt.notes) == (
            values["disposition"], values["answers"], values["notes"]):
        return "accepted", None
    try:
        outcome = queue.edit_result(db.session, result_id, current_user.id,
                                    values["disposition"], answers=values["answers"],
                                    notes=values["notes"], callback_at=values["callback_at"])
    except queue.QueueError as error:
        db.session.rollback()
        return "rejected", str(error)
    db.session.commit()
    return "accepted", outcome


@bp.post("/call/<int:operation_id>/result")
@member_required()
def record(operation: Operation):
    """The result form without JavaScript (the phone's script uses the sync API instead).
    A result missing its choice comes back on the same card, with what was typed and the
    reason next to the choice."""
    form = request.form
    payload = {
        "client_id": form.get("client_id"), "target_id": form.get("target_id", type=int),
        "answers": {key[2:]: value for key, value in form.items() if key.startswith("q.")},
        "field_updates": {key[6:]: value for key, value in form.items()
                          if key.startswith("field.")},
        "notes": form.get("notes"), "callback_local": form.get("callback_local"),
        "lease_proof": form.get("lease_proof"),
        "ended_at": utcnow().isoformat(),
    }
    try:
        payload["disposition"] = chosen_disposition(operation, form.get("group"),
                                                    form.get("disposition"))
    except ResultError as error:
        kept = {**payload, "group": form.get("group"), "disposition": form.get("disposition")}
        return _page(operation, without_person=False, result_error=str(error), kept=kept,
                     status=422)
    status, detail = _record(operation, payload)
    if status == "rejected":
        flash(detail, "error")
    return redirect(url_for("caller.home", operation_id=operation.id))


def _skip(operation: Operation, target_id: int, reason: str) -> bool:
    """Give the target back for a while (someone else gets it first); keep why, no names."""
    released = queue.release_target(db.session, target_id, current_user, "skip")
    if released:
        record_audit(db.session, operation.organization_id, current_user.id, "target.skipped",
                     "target", target_id, {"operation_id": operation.id, "reason": reason})
    db.session.commit()
    return released


@bp.post("/call/<int:operation_id>/skip")
@member_required()
def skip(operation: Operation):
    reason = request.form.get("reason") if request.form.get("reason") in SKIP_REASONS else "other"
    _skip(operation, request.form.get("target_id", type=int) or 0, reason)
    return redirect(url_for("caller.home", operation_id=operation.id))


def _last_attempt(operation: Operation) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(
        Attempt.operation_id == operation.id, Attempt.agent_id == current_user.id,
        Attempt.recorded_at > utcnow() - EDIT_WINDOW,
    ).order_by(Attempt.recorded_at.desc(), Attempt.id.desc()).limit(1))


@bp.route("/call/<int:operation_id>/last", methods=["GET", "POST"])
@member_required()
def edit_last(operation: Operation):
    """Change the last result within ten minutes (a wrong tap should not stay wrong)."""
    attempt = _last_attempt(operation)
    if attempt is None:
        flash(_("There is no result from the last ten minutes to change."), "error")
        return redirect(url_for("caller.home", operation_id=operation.id))
    values = {"disposition": attempt.disposition, "answers": attempt.answers or {},
              "notes": attempt.notes or "",
              "group": attempt.disposition_group.value if attempt.disposition_group else None}
    error = None
    if request.method == "POST":
        form = request.form
        values = {"group": form.get("group"), "disposition": form.get("disposition"),
                  "answers": {k[2:]: v for k, v in form.items() if k.startswith("q.") and v},
                  "notes": (form.get("notes") or "").strip()}
        try:
            queue.edit_result(
                db.session, attempt.client_id, current_user.id,
                disposition=chosen_disposition(operation, values["group"],
                                               values["disposition"]),
                answers=values["answers"], notes=values["notes"] or None,
            )
        except (queue.QueueError, ValueError) as problem:
            db.session.rollback()
            error = str(problem)
        else:
            db.session.commit()
            flash(_("Your last result is changed."), "success")
            # Back to calling, with the address bar showing the calling page.
            return redirect(url_for("caller.home", operation_id=operation.id), 303)
    return render_template(
        "caller/last.html", operation=operation, attempt=attempt, values=values, error=error,
        questions=questions_of(operation), groups=caller_dispositions(operation),
        minutes_left=max(1, int((attempt.recorded_at + EDIT_WINDOW - utcnow())
                                .total_seconds() // 60)),
    ), 422 if error else 200


@bp.post("/call/<int:operation_id>/bridge/<int:target_id>")
@member_required()
def bridge_call(operation: Operation, target_id: int):
    """Call through the campaign line: the line rings the caller's phone, then the person.
    The attempt takes the card's client id, so the result recorded after the call joins it.
    The phone's script asks for JSON and stays on the card; a plain form post is redirected."""
    from sms.bridge import BridgeError, place_bridged_call, prepare_bridged_call

    client_id = (request.form.get("client_id") or "").strip()[:64]
    if not client_id:
        abort(400)
    try:
        leg = prepare_bridged_call(db.session, operation, current_user, target_id, client_id)
        db.session.commit()  # the provider's first webhook must find the call
        place_bridged_call(db.session, leg)
        db.session.commit()
    except BridgeError as error:
        db.session.commit()
        ok, message = False, str(error)
    else:
        ok, message = True, _("Your phone is ringing: pick up to be connected.")
    if request.accept_mimetypes.best == "application/json":
        return _no_store(jsonify(ok=ok, message=message)), 200 if ok else 409
    flash(message, "success" if ok else "error")
    return redirect(url_for("caller.home", operation_id=operation.id))


# ---------------------------------------------------------------- the phone's API


@bp.get("/api/call/<int:operation_id>/token")
@member_required(api=True)
def api_token(operation: Operation):
    """A fresh CSRF token: an offline phone's token may have expired by the time it syncs."""
    return _no_store(jsonify(csrf_token=generate_csrf()))


def _lease_json(operation: Operation, lease, position: int) -> dict | None:
    card = _card_for_lease(operation, lease)
    if card is None:
        return None
    return {
        "target_id": card.target_id, "position": position,
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "card_html": render_template(
            "caller/_card.html", operation=operation, card=card,
            questions=questions_of(operation),
            groups=caller_dispositions(operation), skip_reasons=_skip_reasons()),
    }


@bp.post("/api/call/<int:operation_id>/next")
@member_required(api=True)
def api_next(operation: Operation):
    card, wait = _current_card(operation)
    if wait is not None:
        return _limited_json(wait)
    if card is None:
        empty = _empty_state(operation)
        return _no_store(jsonify(lease=None, next_at=empty["next_at"] and empty["next_at"]
                                 .isoformat()))
    lease = queue.held_leases(db.session, operation, current_user)[0]
    return _no_store(jsonify(lease=_lease_json(operation, lease, 0)))


def _limited_json(seconds: int) -> Response:
    """429 with the wait, in words and in seconds, for the phone's script and other clients."""
    response = jsonify(error=_limited_message(seconds), code="too_many_people",
                       retry_after=seconds)
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return _no_store(response)


@bp.post("/api/call/<int:operation_id>/batch")
@limiter.limit(BATCH_RATE_LIMIT, key_func=lambda: f"caller:{current_user.get_id()}")
@member_required(api=True)
def api_batch(operation: Operation):
    """Lease up to n people for offline calling; the phone keeps their cards until returned."""
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


@bp.post("/api/call/<int:operation_id>/sync")
@member_required(api=True)
def api_sync(operation: Operation):
    """The outbox: results, skips and edits, each once by its client id, however often it is
    sent."""
    entries = (request.get_json(silent=True) or {}).get("entries") or []
    if not isinstance(entries, list) or len(entries) > SYNC_MAX:
        return jsonify(error=_("Send at most %(n)d entries at a time.", n=SYNC_MAX)), 400
    accepted, rejected = [], []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        client_id = str(entry.get("client_id") or "")
        if entry.get("kind") == "skip":
            reason = entry.get("reason") if entry.get("reason") in SKIP_REASONS else "other"
            try:
                target_id = int(entry.get("target_id") or 0)
            except (TypeError, ValueError):
                target_id = 0
            _skip(operation, target_id, reason)
            accepted.append(client_id)
            continue
        change = _edit if entry.get("kind") == "edit" else _record
        status, detail = change(operation, entry)
        if status == "accepted":
            accepted.append(client_id)
        else:
            rejected.append({"client_id": client_id, "error": detail})
    return _no_store(jsonify(accepted=accepted, rejected=rejected))


@bp.post("/api/call/<int:operation_id>/return")
@member_required(api=True)
def api_return(operation: Operation):
    """Give back the people of an offline batch that were not called."""
    ids = (request.get_json(silent=True) or {}).get("target_ids") or []
    ids = [target_id for target_id in ids if isinstance(target_id, int)]
    returned = queue.return_batch(db.session, operation, current_user, ids) if ids else 0
    db.session.commit()
    return _no_store(jsonify(returned=returned))


@bp.get("/api/call/<int:operation_id>/progress")
@member_required(api=True)
def api_progress(operation: Operation):
    progress = _progress(operation)
    return _no_store(jsonify(calls=progress["calls"], reached=progress["reached"],
                             milestone=progress["milestone"], wrap_up=progress["wrap_up"]))


# ---------------------------------------------------------------- service worker


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
