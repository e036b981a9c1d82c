"""Who sees which language: one rule, fed plain values (no request in here).

Every user-visible string goes through Flask-Babel's gettext; this module only decides the
locale it is rendered in (docs/languages.md):

- a signed-in person: their own choice (`User.language`), else their organization's default
  (`Organization.language`), else the browser's Accept-Language;
- anonymous pages (join, sign-up, kiosk, sign in): the browser's Accept-Language, else the
  page's own language (a sign-up form's), else English;
- texts and voice prompts to a contact: the contact's language, else the organization's;
- sign-up conversations by text: the form's language.
"""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale

# English needs no catalogue: the msgids are English.
SUPPORTED_LOCALES = ["en", "fr", "sv", "nl"]
DEFAULT_LOCALE = "en"


def supported_locale(code: str | None) -> str | None:
    """The supported locale a language tag names ("fr-FR", "SV", "nl_BE" -> "fr", "sv", "nl")."""
    base = (code or "").strip().replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED_LOCALES else None


def choose_locale(*choices: str | None, browser: Iterable[str] = ()) -> str:
    """The first supported of `choices` (in order of precedence), else the best of the
    browser's languages (`browser`: Accept-Language tags, best first), else English."""
    for code in (*choices, *browser):
        found = supported_locale(code)
        if found:
            return found
    return DEFAULT_LOCALE


def language_options() -> list[tuple[str, str]]:
    """(code, name) of every supported language, each name in its own language ("svenska")."""
    return [(code, language_name(code)) for code in SUPPORTED_LOCALES]


def language_name(code: str) -> str:
    """A language's own name, capitalised as a menu entry ("Français", "Svenska")."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def check_language(code: str | None) -> str:
    """A supported locale, or ValueError (the callers turn it into their own message)."""
    found = supported_locale(code)
    if found is None or found != (code or "").strip().lower():
        raise ValueError(code)
    return found
