"""Locale choice. Every user-visible string goes through Flask-Babel's gettext."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

SUPPORTED_LOCALES = ["en"]


def select_locale() -> str | None:
    """The signed-in user's language when we ship it, else the browser's best match."""
    if not has_request_context():
        return "en"  # CLI and background work
    language = getattr(current_user, "language", None)
    if language in SUPPORTED_LOCALES:
        return language
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "en"
