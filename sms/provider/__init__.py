"""The telephony provider interface, and how the app picks one (Twilio or the simulator).

Nothing outside `sms/` imports `twilio`. `get_provider().send_sms(to, body)` is what other
packages use (e.g. SMS sign-in codes).
"""

from __future__ import annotations

from flask import Flask, current_app

from ringround.config import TelephonySettings
from sms.provider.base import (
    BAD_NUMBER_CODES,
    UNSUBSCRIBED_RECIPIENT,
    ProviderError,
    ProviderState,
    SentText,
    TelephonyProvider,
)
from sms.provider.simulated import SimulatedProvider

__all__ = [
    "BAD_NUMBER_CODES", "UNSUBSCRIBED_RECIPIENT", "ProviderError", "ProviderState", "SentText",
    "SimulatedProvider",
    "TelephonyConfigError", "TelephonyProvider", "build_provider", "get_provider",
    "is_simulated",
]


class TelephonyConfigError(RuntimeError):
    """The telephony settings cannot work; raised by create_app, never mid-call."""


def build_provider(app: Flask) -> TelephonyProvider:
    """The provider the settings ask for, or TelephonyConfigError saying what to fix."""
    settings: TelephonySettings = app.config["TELEPHONY"]
    problems = settings.problems(app.config.get("PUBLIC_BASE_URL"))
    if problems:
        raise TelephonyConfigError(
            "Telephony is misconfigured (see docs/telephony.md):\n  - " + "\n  - ".join(problems)
        )
    if settings.provider == "twilio":
        # Here, not at the top: the twilio SDK takes seconds to load (twilio.rest), which the
        # simulator (development, tests) never needs.
        from sms.provider.twilio_provider import TwilioProvider

        return TwilioProvider(
            settings.account_sid, settings.auth_token, settings.default_from,
            settings.calls_per_second, http_client=app.config.get("TWILIO_HTTP_CLIENT"),
            messaging_service_sid=settings.messaging_service_sid,
            answers_keywords=settings.provider_answers_keywords,
            timeouts=(app.config["TWILIO_CONNECT_TIMEOUT"], app.config["TWILIO_READ_TIMEOUT"]),
        )
    return SimulatedProvider(
        settings.default_from, max(settings.calls_per_second, 100.0),
        token=settings.simulator_token, secret_key=app.config["SECRET_KEY"],
    )


def get_provider() -> TelephonyProvider:
    """The app's provider, created once per app (at start, by `sms.register`)."""
    provider = current_app.extensions.get("telephony")
    if provider is None:
        provider = build_provider(current_app)
        current_app.extensions["telephony"] = provider
    return provider


def is_simulated() -> bool:
    """True when texts and calls go to the simulator rather than a real network."""
    return get_provider().is_simulated
