"""Everything that crosses the phone network: the telephony provider and its webhooks."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("sms", __name__, url_prefix="/telephony", template_folder="templates")


def register(app: Flask) -> None:
    """Register the telephony blueprints."""
    app.register_blueprint(bp)
