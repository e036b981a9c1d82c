"""Join links, QR codes, posters, phone sign-in and sign-up forms."""

from __future__ import annotations

import logging

from flask import Flask
from flask_babel import lazy_gettext as _l

from sharing.join import bp as join_bp
from sharing.logs import RedactJoinTokens
from sharing.signup_pages import bp as signup_bp
from sharing.views import bp
from web.nav import add_console_nav


def register(app: Flask) -> None:
    """Register the sharing blueprints and console navigation, and keep tokens out of logs."""
    for blueprint in (bp, join_bp, signup_bp):
        app.register_blueprint(blueprint)
    add_console_nav("sharing.organization_join_links", _l("Join links"))
    add_console_nav("signup.forms", _l("Sign-up forms"))
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactJoinTokens) for f in logger.filters):
            logger.addFilter(RedactJoinTokens())
