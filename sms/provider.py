"""The telephony provider interface, and how the app picks one (Twilio or the simulator).

Nothing outside `sms/` imports `twilio`. This is the seed of the interface; the telephony
work fills in calls, webhooks and the Twilio implementation.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from flask import current_app

from ringround.models import utcnow


@dataclass
class SentText:
    sid: str
    to: str
    body: str
    from_number: str | None
    sent_at: object = field(default_factory=utcnow)


class TelephonyProvider(ABC):
    """What Ringround needs from a phone network."""

    is_simulated: bool = False

    @abstractmethod
    def send_sms(self, to: str, body: str, from_number: str | None = None) -> str:
        """Send a text; returns the provider's message id."""


class SimulatedProvider(TelephonyProvider):
    """Records texts instead of sending them (development and tests)."""

    is_simulated = True
    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.outbox: list[SentText] = []

    def send_sms(self, to: str, body: str, from_number: str | None = None) -> str:
        sid = f"SMsim{next(self._ids):030d}"
        self.outbox.append(SentText(sid, to, body, from_number))
        return sid


def get_provider() -> TelephonyProvider:
    """The app's provider, created once per app."""
    provider = current_app.extensions.get("telephony")
    if provider is None:
        provider = SimulatedProvider()
        current_app.extensions["telephony"] = provider
    return provider
