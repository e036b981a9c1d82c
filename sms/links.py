"""Absolute URLs of the webhooks, for the provider's callbacks (with or without a request)."""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for


def hook_url(endpoint: str, **values) -> str:
    """The public URL of a webhook. Never put a phone number in `values`: opaque ids only."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        adapter = current_app.url_map.bind(
            "localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
        )
        path = adapter.build(endpoint, values)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        if has_request_context():
            base = request.host_url.rstrip("/")
        elif current_app.extensions["telephony"].is_simulated:
            base = "http://localhost"  # a job's call to the simulator, which calls the app
        else:
            raise RuntimeError("PUBLIC_BASE_URL is needed to build callback URLs here.")
    return base + path
