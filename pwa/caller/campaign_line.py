"""Calls through the campaign line from a card: placed by the telephony package through
`ringround.bridging` (the caller app never imports it), then asked how they stand."""

from __future__ import annotations

from dataclasses import astuple

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from pwa.caller.base import _no_store, bp, member_required
from ringround.bridging import BridgeError, campaign_line
from ringround.extensions import db
from ringround.models import Operation


@bp.post("/call/<int:operation_id>/bridge/<int:target_id>")
@member_required()
def bridge_call(operation: Operation, target_id: int):
    """Call through the campaign line: the line rings the caller's phone, then the person.
    The attempt takes the card's client id, so the result recorded after the call joins it.
    The call is placed by a job: the answer says "calling your phone…" at once, and the
    phone's script asks `bridge_status` how it went. A plain form post is redirected."""
    client_id = (request.form.get("client_id") or "").strip()[:64]
    if not client_id:
        abort(400)
    status_url = None
    line = campaign_line()
    try:
        call = line.place(db.session, operation, current_user, target_id, client_id)
        db.session.commit()  # the job and the provider's first webhook must find the call
    except BridgeError as error:
        db.session.commit()
        ok, pending, message = False, False, str(error)
    else:
        ok, pending, message = astuple(line.progress(db.session, call))
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
    progress = campaign_line().last(db.session, operation.id, current_user.id, target_id,
                                    (request.args.get("client_id") or "")[:64])
    if progress is None:
        return _no_store(jsonify(found=False, ok=False, pending=False, message=""))
    return _no_store(jsonify(found=True, ok=progress.ok, pending=progress.pending,
                             message=progress.message))
