"""Results from the caller app: the phone's outbox (`/api/.../sync`: results, skips and edits,
each once by its client id), the plain result form, a skip, and changing the last result.
Each result goes through `queue.accept.accept_result`, the rule every path follows."""

from __future__ import annotations

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from pwa.caller.base import _no_store, _proof_key, _version, bp, member_required
from pwa.caller.cards import _last_attempt, _next_answer, _page
from ringround import queue
from ringround.audit import record_audit
from ringround.calling import (
    SKIP_REASONS,
    ResultError,
    caller_dispositions,
    chosen_disposition,
    questions_of,
    shown_name,
)
from ringround.extensions import db
from ringround.models import (
    Contact,
    Operation,
    utcnow,
)
from ringround.queue.accept import Acceptance, accept_edit, accept_result

SYNC_MAX = 100


def _record(operation: Operation, payload: dict, commit: bool = True) -> Acceptance:
    """Accept one result sent by the phone (`accept_result`); commit it (unless `commit` is
    False: the next card's lease commits it), or roll back."""
    accepted = accept_result(db.session, operation=operation, agent_id=current_user.id,
                             payload=payload, proof_key=_proof_key(), version=_version())
    _end(accepted, commit)
    return accepted


def _edit(operation: Operation, payload: dict) -> Acceptance:
    """Accept a change to a result recorded earlier (`accept_edit`); commit it, or roll back."""
    accepted = accept_edit(db.session, operation=operation, agent_id=current_user.id,
                           payload=payload)
    _end(accepted)
    return accepted


def _end(accepted: Acceptance, commit: bool = True) -> None:
    """Commit an accepted result at once (the write lock is held until then), or leave it to
    the commit that follows straight after; a refused one wrote nothing."""
    if not accepted.accepted:
        db.session.rollback()
    elif commit:
        db.session.commit()


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
    accepted = _record(operation, payload)
    if not accepted.accepted:
        flash(accepted.refusal, "error")
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
        except (queue.QueueError, ResultError) as problem:
            db.session.rollback()
            error = problem.message if isinstance(problem, queue.QueueError) else str(problem)
        else:
            db.session.commit()
            flash(_("Your last result is changed."), "success")
            # Back to calling, with the address bar showing the calling page.
            return redirect(url_for("caller.home", operation_id=operation.id), 303)
    return render_template(
        "caller/last.html", operation=operation, attempt=attempt, values=values, error=error,
        person=shown_name(operation, attempt.contact_id and db.session.get(
            Contact, attempt.contact_id), _version()),
        questions=questions_of(operation), groups=caller_dispositions(operation),
        minutes_left=max(1, int((attempt.recorded_at + queue.EDIT_WINDOW - utcnow())
                                .total_seconds() // 60)),
    ), 422 if error else 200

def _sync_entry(operation: Operation, entry: dict, commit: bool = True) -> str | None:
    """One entry of the outbox (a skip, an edit or a result); why it was refused, if it was.
    `commit=False`: a result is left to the next card's lease to commit (one transaction)."""
    if entry.get("kind") == "skip":
        reason = entry.get("reason") if entry.get("reason") in SKIP_REASONS else "other"
        try:
            target_id = int(entry.get("target_id") or 0)
        except (TypeError, ValueError):
            target_id = 0
        _skip(operation, target_id, reason)
        return None
    if entry.get("kind") == "edit":
        return _edit(operation, entry).refusal
    return _record(operation, entry, commit).refusal


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
    wants_next = body.get("next") is True
    accepted, rejected = [], []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        client_id = str(entry.get("client_id") or "")
        # The last result before the next card shares the lease's transaction (one commit:
        # on PostgreSQL one WAL flush fewer); the lease keeps it even when the limits refuse.
        last = wants_next and position == len(entries) - 1
        refusal = _sync_entry(operation, entry, commit=not last)
        if refusal is None:
            accepted.append(client_id)
        else:
            rejected.append({"client_id": client_id, "error": refusal})
    if not wants_next:
        return _no_store(jsonify(accepted=accepted, rejected=rejected))
    answer, wait = _next_answer(operation)
    if wait is not None:
        answer = {"error": queue.limited_message(wait), "code": "too_many_people",
                  "retry_after": wait}
    return _no_store(jsonify(accepted=accepted, rejected=rejected, next=answer))
