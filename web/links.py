"""Absolute links for QR codes, texts and webhooks."""

from __future__ import annotations

from flask import current_app, request


def public_url(path: str) -> str:
    """`path` made absolute with PUBLIC_BASE_URL when set, else with the request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return base + path
