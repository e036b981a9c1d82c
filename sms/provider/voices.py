"""Which voice speaks a prompt: one map from the app's locale to a Twilio `<Say>` voice and
language (Amazon Polly standard voices, which Twilio documents for these languages).

The locale is the one in effect when the prompt was written (`flask_babel.force_locale` picks
the contact's or volunteer's language); an unknown locale falls back to its language, then to
US English.
"""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import get_locale


class Voice(NamedTuple):
    voice: str
    language: str


VOICES: dict[str, Voice] = {
    "en": Voice("Polly.Joanna", "en-US"),
    "en_US": Voice("Polly.Joanna", "en-US"),
    "en_GB": Voice("Polly.Amy", "en-GB"),
    "fr": Voice("Polly.Celine", "fr-FR"),
    "fr_FR": Voice("Polly.Celine", "fr-FR"),
    "sv": Voice("Polly.Astrid", "sv-SE"),
    "sv_SE": Voice("Polly.Astrid", "sv-SE"),
    "nl": Voice("Polly.Lotte", "nl-NL"),
    "nl_NL": Voice("Polly.Lotte", "nl-NL"),
}
DEFAULT = VOICES["en"]


def voice_for(locale: str | None) -> Voice:
    """The voice for a locale such as "fr", "fr_FR" or "fr-FR"."""
    name = (locale or "").replace("-", "_")
    return VOICES.get(name) or VOICES.get(name.split("_")[0].lower()) or DEFAULT


def current_locale() -> str:
    """The locale prompts are being written in now (English outside a request)."""
    try:
        locale = get_locale()
    except RuntimeError:  # no app context
        locale = None
    return str(locale) if locale else "en"
