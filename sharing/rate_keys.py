"""Whom the join and phone-code rate limits count: each device, per link, not the address.

Forty volunteers scanning one poster on an event's Wi-Fi share one address; counting by address
would lock them out after the first few. A device is a random id in a long-lived cookie (made
on its first request), so each phone has its own count for each link. A client that drops the
cookie gets a fresh id each time, so every limit also has a generous per-address backstop
(`RATE_LIMIT_PER_ADDRESS`), counted per link as well.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from flask import current_app, g, request
from flask.wrappers import Response
from flask_limiter.util import get_remote_address

DEVICE_COOKIE = "rr_device"
DEVICE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days
_DEVICE_RE = re.compile(r"[0-9a-f]{32}")


def device_id() -> str:
    """This browser's id (from its cookie, or a new one that `remember_device` will set)."""
    if "device_id" not in g:
        known = request.cookies.get(DEVICE_COOKIE, "")
        g.device_id = known if _DEVICE_RE.fullmatch(known) else secrets.token_hex(16)
        g.new_device = g.device_id != known
    return g.device_id


def remember_device(response: Response) -> Response:
    """Set the device cookie when this request made a new id."""
    if g.get("new_device"):
        response.set_cookie(
            DEVICE_COOKIE, g.device_id, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def _link() -> str:
    """A short hash of the join link's token in the URL ('' on pages without one)."""
    token = (request.view_args or {}).get("token") or ""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


def per_device() -> str:
    return f"device:{_link()}:{device_id()}"


def per_device_codes() -> str:
    """Like `per_device`, counted apart from it (code sending shares a route with joining)."""
    return f"codes:{_link()}:{device_id()}"


def per_address() -> str:
    return f"address:{_link()}:{get_remote_address()}"


def address_limit() -> str:
    return current_app.config.get("RATE_LIMIT_PER_ADDRESS", "120 per minute;1000 per hour")
