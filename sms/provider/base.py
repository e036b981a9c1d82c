"""The interface every telephony provider implements."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ringround.models import utcnow
from sms.provider.steps import CallRequest, VoiceStep
from sms.provider.twiml import render_messaging, render_voice

# Twilio: "Attempt to send to unsubscribed recipient" (the person texted STOP at the carrier).
UNSUBSCRIBED_RECIPIENT = 21610


class ProviderError(Exception):
    """The provider refused a request; `code` is its error number when it gave one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


@dataclass
class SentText:
    """A text as the sharing helper's tests see it (`provider.outbox`)."""

    sid: str
    to: str
    body: str
    from_number: str | None
    sent_at: object = field(default_factory=utcnow)


class Pacer:
    """Spaces outbound calls to at most `per_second` per second in this process.

    Twilio queues calls beyond the account's CPS limit; pacing here keeps the ring times
    (and so the no-answer timeouts) honest.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / per_second
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call may start."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)


class TelephonyProvider(ABC):
    """What Ringround needs from a phone network: texts, calls, webhook checks, replies."""

    is_simulated: bool = False

    def __init__(self, default_from: str | None, calls_per_second: float = 1.0):
        self.default_from = default_from
        self.pacer = Pacer(calls_per_second)

    @abstractmethod
    def send_sms(self, to: str, body: str, from_number: str | None = None,
                 status_callback: str | None = None) -> str:
        """Send a text; returns the provider's message SID. Raises ProviderError."""

    def place_call(self, request: CallRequest) -> str:
        """Place an outbound call (paced); returns the call SID. Raises ProviderError."""
        self.pacer.wait()
        return self._place_call(request)

    @abstractmethod
    def _place_call(self, request: CallRequest) -> str: ...

    @abstractmethod
    def hang_up(self, call_sid: str) -> None:
        """End a call in progress."""

    @abstractmethod
    def signature_token(self) -> str:
        """The secret webhook signatures are computed with."""

    def validate_webhook(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """True when `signature` is the provider's signature of this request."""
        from twilio.request_validator import RequestValidator

        if not signature:
            return False
        return RequestValidator(self.signature_token()).validate(url, dict(params), signature)

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The signature the provider would send for this request (simulator and tests)."""
        from twilio.request_validator import RequestValidator

        return RequestValidator(self.signature_token()).compute_signature(url, dict(params))

    def voice_reply(self, steps: list[VoiceStep]) -> str:
        """The body answering a voice webhook."""
        return render_voice(steps)

    def messaging_reply(self, texts: list[str]) -> str:
        """The body answering an SMS webhook."""
        return render_messaging(texts)

    reply_mimetype = "text/xml"
