"""The locale of a page, from the request (the rule itself is `ringround.i18n`)."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from ringround.i18n import DEFAULT_LOCALE, choose_locale, supported_locale
from web.context import current_org


def browser_languages() -> list[str]:
    """The browser's Accept-Language tags, best first."""
    return [tag for tag, _quality in request.accept_languages]


def page_locale() -> str:
    """Flask-Babel's locale selector: the person's choice, else their organization's language,
    else the browser's; English outside a request (CLI and background work)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    if current_user.is_authenticated:
        own = supported_locale(current_user.language)
        if own:
            return own  # no need to load the organization
        return choose_locale(_organization_language(), browser=browser_languages())
    return choose_locale(browser=browser_languages())


def _organization_language() -> str | None:
    """The language of the organization the page is about: the operation's in the caller
    app (loaded with it, no query of its own), else the console's current organization."""
    access = g.get("caller_access")
    if access is not None:
        return access.organization_language
    org = current_org()
    return org.language if org else None

