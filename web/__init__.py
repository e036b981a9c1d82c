"""The shared web base every blueprint's pages stand on: the organization and role checks
(`context`), the console's navigation (`nav`), error pages, security headers, the page's
language (`language`), absolute links, form choices and locale formats.

`pwa`, `sms` and `sharing` depend on it and never on each other; it depends on the core
only (it names other blueprints' endpoints as strings, never imports them).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from ringround.i18n import language_name, language_options
from ringround.questionnaires import choice_label
from web.errors import register_error_pages
from web.formats import register_formats
from web.nav import console_nav, is_staff, may_open, password_prompt
from web.security import add_security_headers


def register(app: Flask) -> None:
    """Install the error pages, security headers, locale formats and the template globals
    every page's layout uses."""
    app.after_request(add_security_headers)
    register_error_pages(app)
    register_formats(app)
    app.jinja_env.globals.update(console_nav=console_nav, is_staff=is_staff, get_locale=get_locale,
                                 password_prompt=password_prompt, may_open=may_open,
                                 language_name=language_name, language_options=language_options,
                                 choice_label=choice_label)
