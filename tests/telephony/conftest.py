"""Telephony fixtures: the real twilio SDK over a fake HTTP client, and signed webhooks."""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from ringround.config import TelephonySettings

PUBLIC = "https://calls.example.org"
ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "f0" * 16
CAMPAIGN = "+15005550006"


class CapturingHttpClient(HttpClient):
    """Captures every REST request the SDK makes and answers like Twilio would; no network."""

    def __init__(self):
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.requests: list[dict] = []
        self.fail_next: tuple[int, dict] | None = None

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}),
                              "auth": auth})
        if self.fail_next:
            status, body = self.fail_next
            self.fail_next = None
            return TwilioResponse(status, json.dumps(body))
        prefix = "SM" if uri.endswith("/Messages.json") else "CA"
        body = {"sid": prefix + secrets.token_hex(16), "account_sid": ACCOUNT_SID,
                "status": "queued", "to": (data or {}).get("To"),
                "from": (data or {}).get("From")}
        return TwilioResponse(201, json.dumps(body))


@pytest.fixture
def http_client():
    return CapturingHttpClient()


@pytest.fixture
def app_overrides(request):
    """Telephony tests run deferred jobs synchronously and have a public base URL."""
    overrides = {"TELEPHONY_JOBS": "sync", "PUBLIC_BASE_URL": PUBLIC}
    if "twilio" in request.keywords:
        overrides["TELEPHONY"] = TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN)
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
