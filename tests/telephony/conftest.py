"""Telephony fixtures: the real twilio SDK over a fake HTTP client, and signed webhooks."""

from __future__ import annotations

import json
import logging
import secrets
import time

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from ringround.config import TelephonySettings

PUBLIC = "https://calls.example.org"
ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "f0" * 16
CAMPAIGN = "+15005550006"


# Twilio's error answers, as its REST API sends them (https://www.twilio.com/docs/errors).
TWILIO_ERRORS = {
    21211: (400, "The 'To' number +15005550001 is not a valid phone number."),
    21214: (400, "'To' phone number cannot be reached"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service Unavailable"),
}


def twilio_error(code: int) -> tuple[int, dict]:
    """The HTTP status and JSON body Twilio answers with for error `code`."""
    status, message = TWILIO_ERRORS[code]
    return status, {"code": code, "message": message, "status": status,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}"}


class CapturingHttpClient(HttpClient):
    """Captures every REST request the SDK makes and answers like Twilio would; no network.

    `fail_next` (or each of `failures`, in order) is an answer for the next requests: an
    (HTTP status, body) pair such as `twilio_error(21211)`, or an exception to raise as the
    requests library does (ConnectionError, ConnectTimeout, ReadTimeout). `states` gives the
    status a fetch of a call or text SID answers (reconciliation)."""

    def __init__(self):
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.requests: list[dict] = []
        self.fail_next: tuple[int, dict] | BaseException | None = None
        self.failures: list[tuple[int, dict] | BaseException] = []
        self.states: dict[str, dict] = {}

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}),
                              "auth": auth, "timeout": timeout, "at": time.time()})
        failure, self.fail_next = self.fail_next, None
        if failure is None and self.failures:
            failure = self.failures.pop(0)
        if isinstance(failure, BaseException):
            raise failure
        if failure:
            status, body = failure
            return TwilioResponse(status, json.dumps(body))
        if method == "GET":
            sid = uri.rsplit("/", 1)[-1].removesuffix(".json")
            if sid not in self.states:
                return TwilioResponse(404, json.dumps({
                    "code": 20404, "message": "The requested resource was not found",
                    "status": 404}))
            return TwilioResponse(200, json.dumps({"sid": sid, "account_sid": ACCOUNT_SID,
                                                   **self.states[sid]}))
        prefix = "SM" if uri.endswith("/Messages.json") else "CA"
        body = {"sid": prefix + secrets.token_hex(16), "account_sid": ACCOUNT_SID,
                "status": "queued", "to": (data or {}).get("To"),
                "from": (data or {}).get("From")}
        return TwilioResponse(201, json.dumps(body))

    def posted(self, resource: str) -> list[dict]:
        """The POSTs that created `resource` ("Calls" or "Messages")."""
        return [r for r in self.requests
                if r["method"] == "POST" and r["uri"].endswith(f"/{resource}.json")]


@pytest.fixture
def http_client():
    return CapturingHttpClient()


@pytest.fixture
def app_overrides(request):
    """Telephony tests have a public base URL (jobs run where enqueued: tests/conftest.py)."""
    # Pacing is tested on its own (test_provider_failures.py): elsewhere it never holds a job.
    overrides = {"PUBLIC_BASE_URL": PUBLIC, "TEXTS_PER_SECOND": 1000}
    if "twilio" in request.keywords:
        overrides["TELEPHONY"] = TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN,
                                                   calls_per_second=1000)
        overrides["TWILIO_HTTP_CLIENT"] = request.getfixturevalue("http_client")
    return overrides


def sign(app, path: str, params: dict) -> str:
    """The X-Twilio-Signature the provider would send for POST `params` to `path`."""
    token = app.extensions["telephony"].signature_token()
    return RequestValidator(token).compute_signature(PUBLIC + path, params)


def post_signed(client, path: str, params: dict, signature: str | None = None):
    """POST a webhook as Twilio would, signed with the configured token."""
    app = client.application
    headers = {"X-Twilio-Signature": signature if signature is not None
               else sign(app, path, params)}
    return client.post(path, data=params, headers=headers)
