"""Checking that a webhook request really comes from the provider (X-Twilio-Signature)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, request
from sqlalchemy.exc import IntegrityError

from ringround.extensions import db
from ringround.models import ProviderEvent
from sms.provider import get_provider

SIGNATURE_HEADER = "X-Twilio-Signature"


def signed_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path when set (a TLS proxy in front changes
    the scheme and host this process sees), else the request's URL (with ProxyFix applied
    when BEHIND_PROXY is on)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base + request.script_root + request.path + (f"?{query}" if query else "")


def is_signed_request() -> bool:
    """True when the request carries the provider's valid signature."""
    params = request.form.to_dict() if request.method == "POST" else {}
    signature = request.headers.get(SIGNATURE_HEADER, "")
    return get_provider().validate_webhook(signed_url(), params, signature)


def signed_webhook(view: Callable) -> Callable:
    """Refuse (403) any request to `view` that the provider did not sign."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_signed_request():
            abort(403)
        return view(*args, **kwargs)

    wrapped.signature_checked = True  # the tests check every webhook route carries this
    return wrapped


def first_delivery(sid: str, kind: str) -> bool:
    """Record that the event (`sid`, `kind`) is handled; False when it already was (a retry)."""
    if not sid:
        return True
    try:
        with db.session.begin_nested():
            db.session.add(ProviderEvent(sid=sid[:64], kind=kind[:64]))
    except IntegrityError:
        return False
    return True
