"""The caller app: one person at a time, results through an offline-safe outbox.

Pages live under /call/<operation_id>; the phone's JavaScript talks to /api/call/<operation_id>.
Every view checks that the signed-in user is a member (agent or owner) of the operation, and
every card shows only the fields the operation exposes.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import astuple
from datetime import UTC, datetime, time
from functools import cache, wraps
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import func, select

from ringround import queue
from ringround.audit import record_audit
from ringround.caller_access import caller_access
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
    result_time_zone,
)
from ringround.extensions import db, htmx, limiter
from ringround.models import (
    Attempt,
    Contact,
    ContactPhone,
    Operation,
    OperationMember,
    Organization,
    Target,
    utcnow,
)
from ringround.operation_fields import editable_field_keys
from ringround.operations import can_manage, operations_to_call
from web.formats import clock

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


# ---------------------------------------------------------------- cards


def _card_for_lease(operation: Operation, lease) -> Card | None:
    """The card of a lease: from the contact's columns the lease read, else one query."""
    if lease.contact is not None:
        contact, extension = lease.contact, lease.contact.extension
    else:
        found = db.session.execute(
            select(Contact, ContactPhone.extension)
            .outerjoin(ContactPhone, ContactPhone.id == lease.phone_id)
            .where(Contact.id == lease.contact_id)).first()
        if found is None:
            return None
        contact, extension = found
    card = build_card(operation, contact, lease.target_id, lease.phone_e164, lease.expires_at,
                      caller_name=current_user.display_name,
                      organization_name=_organization_name(operation), version=_version(),
                      extension=extension)
    # The same lease shows the same id after a reload (e.g. the redirect after a bridged
    # call), so a result sent without JavaScript joins the call's attempt.
    seed = f"{current_user.id}:{lease.target_id}:{lease.expires_at.isoformat()}"
    card.client_id = str(uuid.uuid5(CARD_ID_NAMESPACE, seed))
    card.lease_proof = lease_proof(_proof_key(), current_user.id, operation.id, lease.target_id)
    return card


def _organization_name(operation: Operation) -> str:
    access = g.get("caller_access")
    if access is not None and access.operation is operation:
        return access.organization_name
    org = db.session.get(Organization, operation.organization_id)
    return org.name if org else ""


def _shell_script(operation: Operation) -> str:
    """The script on a page without a person: the person's placeholders stay empty."""
    return card_script(operation, [], current_user.display_name, _organization_name(operation),
                       _version())


def _proof_key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"ringround-lease-proof-v1", hashlib.sha256).digest()


def _limits() -> queue.SeeingLimits:
    """How many people a volunteer may be shown (README, "Configuration")."""
    config = current_app.config
    return queue.SeeingLimits(config["CALLER_PEOPLE_PER_MINUTE"],
                              config["CALLER_PEOPLE_PER_HOUR"])


def _limited_message(seconds: int) -> str:
    return ngettext("You have seen many people very quickly; take a breath, you can go on in "
                    "%(num)d second.", "You have seen many people very quickly; take a breath, "
                    "you can go on in %(num)d seconds.", seconds)


def _current_lease(operation: Operation) -> tuple[queue.Lease | None, int | None]:
    """The target this agent already holds, else a newly leased one, else None; and, when
    the limits refused a new one, in how many seconds the agent may go on."""
    try:
        # With max_open=1 the queue hands back the lease held already, if any, and leases
        # only when there is none: one statement fewer than asking for the held ones first.
        lease = queue.lease_next(db.session, operation, current_user, max_open=1,
                                 limits=_limits())
    except queue.LimitReachedError as limited:
        db.session.rollback()
        return None, limited.retry_after
    db.session.commit()
    if lease is None:
        # Nobody to lease (or the operation paused): the one held stays on the card.
        held = queue.held_leases(db.session, operation, current_user)
        lease = held[0] if held else None
    return lease, None


def _current_card(operation: Operation) -> tuple[Card | None, int | None]:
    """The card of `_current_lease`, and the wait when the limits refused one."""
    lease, wait = _current_lease(operation)
    return (_card_for_lease(operation, lease) if lease else None), wait


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
    operations = operations_to_call(db.session, current_user)
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
    """Record one result; returns ("accepted", outcome) or ("rejected", message).

    The queue reads the target and asks `result_refusal` under its lock (one statement for
    both). A bridged call placed from this card has its attempt under the same client id
    already: the queue completes it (keeping its method)."""
    zone = None
    if (payload.get("disposition") == "call_back" and payload.get("callback_local")
            and not payload.get("callback_at")):
        try:
            zone = result_time_zone(db.session, int(payload.get("target_id") or 0))
        except (TypeError, ValueError):
            zone = None
    try:
        values = clean_result(operation, payload,
                              editable_field_keys(db.session, operation, _version()),
                              time_zone=zone)
    except ResultError as error:
        return "rejected", str(error)
    agent_id = current_user.id

    def admit(target, sender) -> str | None:
        return result_refusal(db.session, _proof_key(), agent_id, target, payload,
                              sender=sender)

    result = queue.ResultIn(operation_id=operation.id, agent_id=agent_id, **values)
    try:
        outcome = queue.record_result(db.session, result, admit=admit)
    except queue.UnknownTargetError:
        db.session.rollback()
        return "rejected", _("That person is not part of this operation.")
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
    attempt = db.session.scalar(select(Attempt).where(Attempt.client_id == result_id)
                                .execution_options(populate_existing=True))
    if (attempt is None or attempt.operation_id != operation.id
            or attempt.agent_id != current_user.id or attempt.target_id is None):
        return "rejected", _("There is no such result of yours to change.")
    target = db.session.get(Target, attempt.target_id, populate_existing=True)
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
    The call is placed by a job: the answer says "calling your phone…" at once, and the
    phone's script asks `bridge_status` how it went. A plain form post is redirected."""
    from sms.bridge import BridgeError, bridge_progress, prepare_bridged_call, queue_bridged_call

    client_id = (request.form.get("client_id") or "").strip()[:64]
    if not client_id:
        abort(400)
    status_url = None
    try:
        leg = prepare_bridged_call(db.session, operation, current_user, target_id, client_id)
        queue_bridged_call(db.session, leg)
        db.session.commit()  # the job and the provider's first webhook must find the call
        # Caller views keep objects across commits (hot path); the job may have run already.
        db.session.refresh(leg)
    except BridgeError as error:
        db.session.commit()
        ok, pending, message = False, False, str(error)
    else:
        ok, pending, message = astuple(bridge_progress(leg))
        status_url = url_for("caller.bridge_status", operation_id=operation.id,
                             target_id=target_id, client_id=client_id)
    if request.accept_mimetypes.best == "application/json":
        return _no_store(jsonify(ok=ok, pending=pending, message=message,
                                 status_url=status_url)), 200 if ok else 409
    flash(message, "success" if ok else "error")
    return redirect(url_for("caller.home", operation_id=operation.id))


@bp.get("/call/<int:operation_id>/bridge/<int:target_id>/status")
@member_required()
def bridge_status(operation: Operation, target_id: int):
    """How the caller's last call through the campaign line for this card stands (JSON;
    `found` is false when there was none)."""
    from sms.bridge import bridge_progress, last_agent_leg

    leg = last_agent_leg(db.session, operation.id, current_user.id, target_id,
                         (request.args.get("client_id") or "")[:64])
    if leg is None:
        return _no_store(jsonify(found=False, ok=False, pending=False, message=""))
    progress = bridge_progress(leg)
    return _no_store(jsonify(found=True, ok=progress.ok, pending=progress.pending,
                             message=progress.message))


# ---------------------------------------------------------------- the phone's API


@bp.get("/api/call/<int:operation_id>/token")
@member_required(api=True)
def api_token(operation: Operation):
    """A fresh CSRF token: an offline phone's token may have expired by the time it syncs."""
    return _no_store(jsonify(csrf_token=generate_csrf()))


def _lease_json(operation: Operation, lease, position: int, card: Card | None = None
                ) -> dict | None:
    card = card or _card_for_lease(operation, lease)
    if card is None:
        return None
    return {
        "target_id": card.target_id, "position": position,
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "card_html": render_template(
            "caller/_card.html", operation=operation, card=card,
            questions=questions_of(operation), result_choices_html=_result_choices_html(operation),
            groups=caller_dispositions(operation), skip_reasons=_skip_reasons()),
    }


# The result form's choices, rendered once per (operation, settings version, language).
_result_choices: dict[tuple, Markup] = {}


def _result_choices_html(operation: Operation) -> Markup | None:
    """The card's outcome choices and questions with nothing chosen (the same for every card
    of the operation): rendered once per operation version and language."""
    version = _version()
    if version is None:
        return None
    key = (operation.id, version, str(get_locale()))
    html = _result_choices.get(key)
    if html is None:
        html = Markup(render_template(  # noqa: S704 - our own template's output
            "caller/_result_choices.html", groups=caller_dispositions(operation),
            questions=questions_of(operation)))
        if len(_result_choices) >= 256:
            _result_choices.clear()
        _result_choices[key] = html
    return html


def _next_answer(operation: Operation) -> tuple[dict, int | None]:
    """The next card as the phone's API gives it ({"lease": ...} or, with nobody to call,
    {"lease": None, "next_at": ...}), or the wait in seconds when the limits refuse one."""
    lease, wait = _current_lease(operation)
    if wait is not None:
        return {}, wait
    card = _card_for_lease(operation, lease) if lease else None
    if card is None:
        empty = _empty_state(operation)
        return {"lease": None, "next_at": empty["next_at"] and empty["next_at"].isoformat()}, None
    return {"lease": _lease_json(operation, lease, 0, card)}, None


@bp.post("/api/call/<int:operation_id>/next")
@member_required(api=True)
def api_next(operation: Operation):
    answer, wait = _next_answer(operation)
    if wait is not None:
        return _limited_json(wait)
    return _no_store(jsonify(answer))


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
    sent. With `"next": true` (the phone online, on the card just finished), the answer
    also carries the next card, as /next gives it: a result and the next card in one round
    trip. When the limits refuse one, `next` holds the wait instead (as /next's 429 does)."""
    body = request.get_json(silent=True) or {}
    entries = body.get("entries") or []
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
    if body.get("next") is not True:
        return _no_store(jsonify(accepted=accepted, rejected=rejected))
    answer, wait = _next_answer(operation)
    if wait is not None:
        answer = {"error": _limited_message(wait), "code": "too_many_people",
                  "retry_after": wait}
    return _no_store(jsonify(accepted=accepted, rejected=rejected, next=answer))


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
