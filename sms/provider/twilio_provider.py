"""Twilio: the REST client for calls and texts, TwiML replies, signed webhooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from sms.provider.base import ProviderError, ProviderState, TelephonyProvider
from sms.provider.steps import CallRequest

T = TypeVar("T")


def _asking(action: Callable[[], T]) -> T:
    """Run one REST request; any failure becomes a ProviderError that says whether the
    provider refused (its code and HTTP status) or could not be reached at all."""
    try:
        return action()
    except TwilioRestException as error:
        raise ProviderError(error.msg, error.code, error.status) from error
    except (RequestException, OSError) as error:  # refused, reset, DNS, connect/read timeout
        raise ProviderError(f"Twilio could not be reached: {type(error).__name__}",
                            unreachable=True) from error
    except TwilioException as error:  # e.g. an answer that is not JSON (a proxy's 502 page)
        raise ProviderError(str(error), unreachable=True) from error


class TwilioProvider(TelephonyProvider):
    """The real phone network, through the `twilio` SDK."""

    is_simulated = False

    def __init__(self, account_sid: str, auth_token: str, default_from: str | None,
                 calls_per_second: float = 1.0, http_client: HttpClient | None = None,
                 messaging_service_sid: str | None = None, answers_keywords: bool = False,
                 timeouts: tuple[float, float] = (5.0, 20.0)):
        super().__init__(default_from, calls_per_second)
        self._token = auth_token
        self.messaging_service_sid = messaging_service_sid
        self.answers_keywords = answers_keywords
        if http_client is None:
            http_client = TwilioHttpClient()
            # requests takes (connect, read); the SDK's constructor checks a single number only.
            http_client.timeout = timeouts
        self.client = Client(account_sid, auth_token, http_client=http_client)

    def signature_token(self) -> str:
        return self._token

    def send_sms(self, to: str, body: str, from_number: str | None = None,
                 status_callback: str | None = None) -> str:
        sender = from_number or self.default_from
        if not sender:
            raise ProviderError("No campaign number to send from.")
        kwargs = {"status_callback": status_callback} if status_callback else {}
        if self.messaging_service_sid:
            # A2P 10DLC: the service's compliance settings apply; `From` stays the campaign
            # number (it must be in the service's sender pool).
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        message = _asking(lambda: self.client.messages.create(to=to, from_=sender, body=body,
                                                              **kwargs))
        return message.sid

    def place_call(self, request: CallRequest) -> str:
        kwargs = {}
        if request.machine_detection:
            kwargs = {"machine_detection": request.machine_detection, "async_amd": "true",
                      "async_amd_status_callback": request.amd_callback,
                      "async_amd_status_callback_method": "POST"}
        call = _asking(lambda: self.client.calls.create(
            to=request.to, from_=request.from_number, url=request.answer_url, method="POST",
            status_callback=request.status_callback, status_callback_method="POST",
            status_callback_event=list(request.status_events), timeout=request.timeout,
            **kwargs,
        ))
        return call.sid

    def hang_up(self, call_sid: str) -> None:
        _asking(lambda: self.client.calls(call_sid).update(status="completed"))

    def fetch_call(self, call_sid: str) -> ProviderState | None:
        try:
            call = _asking(lambda: self.client.calls(call_sid).fetch())
        except ProviderError as error:
            if error.status == 404:
                return None
            raise
        return ProviderState(call.status)

    def fetch_text(self, message_sid: str) -> ProviderState | None:
        try:
            message = _asking(lambda: self.client.messages(message_sid).fetch())
        except ProviderError as error:
            if error.status == 404:
                return None
            raise
        return ProviderState(message.status, message.error_code)
