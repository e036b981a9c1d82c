"""Friendly error pages (403, 404, 429, 500), JSON for API clients."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ringround.extensions import db


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Something in that request was not right"), _("Please go back and try again.")),
        403: (_("You cannot open this page"),
              _("Your account does not have access here. Ask an organizer if you need it.")),
        404: (_("Page not found"), _("The link may be old or mistyped.")),
        429: (_("Too many tries"), _("Please wait a minute, then try again.")),
        500: (_("Something went wrong on our side"),
              _("Nothing you did caused this. Please try again in a moment.")),
    }


def _render(code: int, detail: str | None = None):
    title, text = _messages().get(code, _messages()[500])
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=title, detail=detail or text), code
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def register_error_pages(app: Flask) -> None:
    """Install the handlers on `app`."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(400, _("The form expired or was sent from elsewhere. "
                              "Please reload the page and send it again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in (400, 403, 404, 429):
            return _render(error.code)
        return error

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _render(500)
