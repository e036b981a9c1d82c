"""Twilio: the REST client for calls and texts, TwiML replies, signed webhooks."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from sms.provider.base import ProviderError, TelephonyProvider
from sms.provider.steps import CallRequest


class TwilioProvider(TelephonyProvider):
    """The real phone network, through the `twilio` SDK."""

    is_simulated = False

    def __init__(self, account_sid: str, auth_token: str, default_from: str | None,
                 calls_per_second: float = 1.0, http_client: HttpClient | None = None,
                 pacing_storage=None, messaging_service_sid: str | None = None,
                 answers_keywords: bool = False):
        super().__init__(default_from, calls_per_second, pacing_storage)
        self._token = auth_token
        self.messaging_service_sid = messaging_service_sid
        self.answers_keywords = answers_keywords
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
        try:
            message = self.client.messages.create(to=to, from_=sender, body=body, **kwargs)
        except TwilioRestException as error:
            raise ProviderError(error.msg, error.code) from error
        return message.sid

    def _place_call(self, request: CallRequest) -> str:
        kwargs = {}
        if request.machine_detection:
            kwargs = {"machine_detection": request.machine_detection, "async_amd": "true",
                      "async_amd_status_callback": request.amd_callback,
                      "async_amd_status_callback_method": "POST"}
        try:
            call = self.client.calls.create(
                to=request.to, from_=request.from_number, url=request.answer_url, method="POST",
                status_callback=request.status_callback, status_callback_method="POST",
                status_callback_event=list(request.status_events), timeout=request.timeout,
                **kwargs,
            )
        except TwilioRestException as error:
            raise ProviderError(error.msg, error.code) from error
        return call.sid

    def hang_up(self, call_sid: str) -> None:
        try:
            self.client.calls(call_sid).update(status="completed")
        except TwilioRestException as error:
            raise ProviderError(error.msg, error.code) from error
