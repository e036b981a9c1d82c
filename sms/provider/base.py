"""The interface every telephony provider implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

from ringround.models import utcnow
from sms.provider.steps import CallRequest, VoiceStep
from sms.provider.twiml import render_messaging, render_voice

# Twilio: "Attempt to send to unsubscribed recipient" (the person texted STOP at the carrier).
UNSUBSCRIBED_RECIPIENT = 21610
# Twilio: "Invalid 'To' phone number", "'To' number cannot be reached": a bad number.
BAD_NUMBER_CODES = frozenset({21211, 21214})
# Twilio: "Too many requests" (the account's API concurrency or rate).
TOO_MANY_REQUESTS = 20429


class ProviderError(Exception):
    """The provider refused a request or could not be reached.

    `code` is its error number when it gave one, `status` the HTTP status, `unreachable`
    true for network errors and timeouts (no answer at all)."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None,
                 unreachable: bool = False):
        super().__init__(message)
        self.code, self.status, self.unreachable = code, status, unreachable

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, too many requests, or the provider's own
        server error (5xx)."""
        return (self.unreachable or self.code == TOO_MANY_REQUESTS
                or (self.status is not None and self.status >= 500))

    @property
    def bad_number(self) -> bool:
        return self.code in BAD_NUMBER_CODES


@dataclass(frozen=True)
class ProviderState:
    """What the provider says of one call or text now (reconciliation asks)."""

    status: str
    error_code: int | None = None


@dataclass
class SentText:
    """A text as the sharing helper's tests see it (`provider.outbox`)."""

    sid: str
    to: str
    body: str
    from_number: str | None
    sent_at: object = field(default_factory=utcnow)


class TelephonyProvider(ABC):
    """What Ringround needs from a phone network: texts, calls, webhook checks, replies."""

    is_simulated: bool = False
    # The provider replies to STOP/HELP itself (Twilio Advanced Opt-Out): no second reply.
    answers_keywords: bool = False

    def __init__(self, default_from: str | None, calls_per_second: float = 1.0):
        self.default_from = default_from
        # Paced by the queue (sms/pacing.py): calls are jobs that wait for a free slot.
        self.calls_per_second = calls_per_second

    @abstractmethod
    def send_sms(self, to: str, body: str, from_number: str | None = None,
                 status_callback: str | None = None) -> str:
        """Send a text; returns the provider's message SID. Raises ProviderError."""

    @abstractmethod
    def place_call(self, request: CallRequest) -> str:
        """Place an outbound call now; returns the call SID. Raises ProviderError. Callers
        pace it (a job of sms/pacing.py), never by sleeping."""

    @abstractmethod
    def fetch_call(self, call_sid: str) -> ProviderState | None:
        """The call's status now (None if the provider does not know it)."""

    @abstractmethod
    def fetch_text(self, message_sid: str) -> ProviderState | None:
        """The text's status now (None if the provider does not know it)."""

    @abstractmethod
    def hang_up(self, call_sid: str) -> None:
        """End a call in progress."""

    @abstractmethod
    def signature_token(self) -> str:
        """The secret webhook signatures are computed with."""

    def validate_webhook(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """True when `signature` is the provider's signature of this request."""
        if not signature:
            return False
        return RequestValidator(self.signature_token()).validate(url, dict(params), signature)

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The signature the provider would send for this request (simulator and tests)."""
        return RequestValidator(self.signature_token()).compute_signature(url, dict(params))

    def voice_reply(self, steps: list[VoiceStep]) -> str:
        """The body answering a voice webhook."""
        return render_voice(steps)

    def messaging_reply(self, texts: list[str]) -> str:
        """The body answering an SMS webhook."""
        return render_messaging(texts)

    reply_mimetype = "text/xml"
