"""The interface every telephony provider implements."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from limits import RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

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
    """Spaces outbound calls to at most `per_second` per second.

    Twilio queues calls beyond the account's CPS limit; pacing here keeps the ring times
    (and so the no-answer timeouts) honest. Within a process calls are spaced evenly; with
    `shared` (a `limits` storage, the one Flask-Limiter uses: RATELIMIT_STORAGE_URI) all
    workers and hosts together stay within the limit in any one-second window.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, shared: Storage | None = None):
        self.interval = 1.0 / per_second
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()
        self._shared = MovingWindowRateLimiter(shared) if shared is not None else None
        if per_second >= 1:
            self._item = RateLimitItemPerSecond(int(per_second))
        else:
            self._item = RateLimitItemPerSecond(1, round(1 / per_second))

    def wait(self) -> None:
        """Block until the next call may start."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)
        while self._shared is not None and not self._shared.hit(self._item, "outbound-calls"):
            self.sleep(min(self.interval, 0.05))


class TelephonyProvider(ABC):
    """What Ringround needs from a phone network: texts, calls, webhook checks, replies."""

    is_simulated: bool = False
    # The provider replies to STOP/HELP itself (Twilio Advanced Opt-Out): no second reply.
    answers_keywords: bool = False

    def __init__(self, default_from: str | None, calls_per_second: float = 1.0,
                 pacing_storage: Storage | None = None):
        self.default_from = default_from
        self.pacer = Pacer(calls_per_second, shared=pacing_storage)

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
