"""The provider interface: Twilio over the real SDK (fake HTTP), the simulator, settings."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ringround import create_app
from ringround.config import TelephonySettings
from ringround.extensions import db
from sms.provider import (
    ProviderError,
    SimulatedProvider,
    TelephonyConfigError,
    get_provider,
    is_simulated,
)
from sms.provider.steps import CallRequest, Dial, Gather, Hangup, Say
from tests.conftest import TEST_SECRET
from tests.telephony.conftest import ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.twilio
def test_twilio_send_sms_posts_exact_parameters(app, http_client):
    provider = get_provider()
    assert not provider.is_simulated and not is_simulated()
    sid = provider.send_sms("+16175550100", "Hello", None,
                            "https://calls.example.org/telephony/hooks/sms/status")
    assert sid.startswith("SM")
    [req] = http_client.requests
    assert req["method"] == "POST"
    assert req["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert req["data"] == {
        "To": "+16175550100", "From": CAMPAIGN, "Body": "Hello",
        "StatusCallback": "https://calls.example.org/telephony/hooks/sms/status",
    }
    assert req["auth"] == (ACCOUNT_SID, AUTH_TOKEN)


@pytest.mark.twilio
def test_twilio_place_call_asks_for_async_amd_and_status_callbacks(app, http_client):
    sid = get_provider().place_call(CallRequest(
        to="+16175550100", from_number="+15005550001",
        answer_url="https://calls.example.org/telephony/hooks/voice/bridge/tok/answer",
        status_callback="https://calls.example.org/telephony/hooks/voice/status/tok",
        machine_detection="DetectMessageEnd",
        amd_callback="https://calls.example.org/telephony/hooks/voice/amd/tok", timeout=20,
    ))
    assert sid.startswith("CA")
    [req] = http_client.requests
    assert req["uri"].endswith(f"/Accounts/{ACCOUNT_SID}/Calls.json")
    data = req["data"]
    assert data["To"] == "+16175550100" and data["From"] == "+15005550001"
    assert data["Url"] == "https://calls.example.org/telephony/hooks/voice/bridge/tok/answer"
    assert data["Method"] == "POST"
    assert data["StatusCallback"] == "https://calls.example.org/telephony/hooks/voice/status/tok"
    assert data["StatusCallbackMethod"] == "POST"
    assert data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert data["MachineDetection"] == "DetectMessageEnd"
    assert data["AsyncAmd"] == "true"
    assert data["AsyncAmdStatusCallback"].endswith("/telephony/hooks/voice/amd/tok")
    assert data["Timeout"] == 20


@pytest.mark.twilio
def test_twilio_error_21610_becomes_provider_error_with_code(app, http_client):
    http_client.fail_next = (400, {"code": 21610, "message": "unsubscribed recipient",
                                   "status": 400})
    with pytest.raises(ProviderError) as error:
        get_provider().send_sms("+16175550100", "Hi")
    assert error.value.code == 21610


def test_simulator_is_the_default_and_records_texts_for_every_worker(app, tmp_path):
    provider = get_provider()
    assert isinstance(provider, SimulatedProvider) and is_simulated()
    sid = provider.send_sms("+16175550100", "Your code is 123456")
    db.session.commit()
    # A second app on the same database (another worker process) sees the text.
    other = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET,
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]},
                       instance_path=str(tmp_path / "other"))
    with other.app_context():
        [sent] = get_provider().outbox
        assert (sent.sid, sent.to, sent.body) == (sid, "+16175550100", "Your code is 123456")
        db.session.remove()


def _app_with(tmp_path, settings, **extra):
    return create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "TELEPHONY": settings,
                       "SQLALCHEMY_DATABASE_URI": "sqlite://", **extra},
                      instance_path=str(tmp_path))


def test_wrong_twilio_settings_stop_the_app_at_start_with_a_clear_message(tmp_path):
    settings = TelephonySettings("twilio", "AC123", "not-a-token", "0617")
    with pytest.raises(TelephonyConfigError) as error:
        _app_with(tmp_path, settings)
    message = str(error.value)
    assert "TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex" in message
    assert "TWILIO_AUTH_TOKEN must be 32 hex" in message
    assert "TWILIO_FROM_NUMBER must be in E.164" in message
    assert "PUBLIC_BASE_URL is not set" in message
    assert "docs/telephony.md" in message


def test_missing_twilio_credentials_and_unknown_provider_are_reported(tmp_path):
    with pytest.raises(TelephonyConfigError, match="TWILIO_AUTH_TOKEN is not set"):
        _app_with(tmp_path, TelephonySettings("twilio", ACCOUNT_SID, None, None),
                  PUBLIC_BASE_URL="https://x.example.org")
    with pytest.raises(TelephonyConfigError, match="use 'twilio' or 'simulator'"):
        _app_with(tmp_path, TelephonySettings("plivo", None, None, None))


def test_correct_twilio_settings_start(tmp_path):
    app = _app_with(tmp_path, TelephonySettings("twilio", ACCOUNT_SID, AUTH_TOKEN, CAMPAIGN),
                    PUBLIC_BASE_URL="https://calls.example.org")
    assert not app.extensions["telephony"].is_simulated


def test_voice_reply_renders_twiml_that_parses():
    provider = SimulatedProvider(None, secret_key="k")
    xml = provider.voice_reply([
        Say("Connecting you to Maria"),
        Gather(action="https://x/a", num_digits=1, prompt=(Say("Press 1"),)),
        Dial(number="+16175550100", caller_id=CAMPAIGN, action="https://x/done",
             status_callback="https://x/status", machine_detection="Enable",
             amd_callback="https://x/amd", number_url="https://x/screen"),
        Hangup(),
    ])
    root = ET.fromstring(xml)
    assert [child.tag for child in root] == ["Say", "Gather", "Dial", "Hangup"]
    assert root[0].text == "Connecting you to Maria"
    assert root[1].get("numDigits") == "1" and root[1][0].text == "Press 1"
    dial = root[2]
    assert dial.get("callerId") == CAMPAIGN and dial.get("action") == "https://x/done"
    number = dial.find("Number")
    assert number.text == "+16175550100"
    assert number.get("machineDetection") == "Enable"
    assert number.get("amdStatusCallback") == "https://x/amd"
    assert number.get("statusCallback") == "https://x/status"
    assert number.get("url") == "https://x/screen"


def test_nothing_outside_sms_imports_twilio():
    offenders = []
    for package in ("ringround", "pwa", "sharing"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                if any(name.split(".")[0] == "twilio" for name in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
