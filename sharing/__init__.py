"""Join links, QR codes, posters and sign-up forms."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the sharing blueprints."""
    from sharing.views import bp

    app.register_blueprint(bp)
