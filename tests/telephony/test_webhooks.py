"""Webhooks: signatures (403 otherwise), CSRF exemption only for them, replays, proxies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ringround.extensions import csrf, db
from ringround.models import Message, ProviderEvent
from tests.telephony.conftest import CAMPAIGN, PUBLIC, post_signed, sign


def sms_params(body="hello", sid="SM" + "1" * 32, remote="+16175550123"):
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": remote, "To": CAMPAIGN, "Body": body, "NumMedia": "0"}


def hook_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("telephony_hooks.")]


def test_every_webhook_refuses_unsigned_and_forged_requests(app, client):
    rules = hook_rules(app)
    assert len(rules) >= 4
    for rule in rules:
        path = rule.rule.replace("<token>", "abc")
        assert app.view_functions[rule.endpoint].signature_checked
        assert client.post(path, data={"CallSid": "CA1"}).status_code == 403, path
        forged = {"X-Twilio-Signature": sign(app, path, {"CallSid": "CA2"})}
        assert client.post(path, data={"CallSid": "CA1"}, headers=forged).status_code == 403


def test_signature_made_with_another_token_is_refused(app, client):
    from twilio.request_validator import RequestValidator

    params = sms_params()
    wrong = RequestValidator("0" * 32).compute_signature(PUBLIC + "/telephony/hooks/sms", params)
    assert post_signed(client, "/telephony/hooks/sms", params, wrong).status_code == 403


def test_only_the_signed_webhooks_are_exempt_from_csrf(app, client, factories):
    exempt = {getattr(bp, "name", bp) for bp in csrf._exempt_blueprints}
    assert "telephony_hooks" in exempt
    assert not exempt & {"sms", "telephony_sim", "telephony"}
    assert not any(view.startswith("sms.") for view in csrf._exempt_views)
    # A signed webhook needs no CSRF token...
    assert post_signed(client, "/telephony/hooks/sms", sms_params()).status_code == 200
    # ... while an ordinary form still does.
    assert client.post("/login", data={"email": "a@b.c", "password": "x"}).status_code == 400


def test_signature_is_checked_against_public_base_url_behind_a_tls_proxy(app, client):
    # The proxy speaks plain http to us; Twilio signed the public https URL.
    params = sms_params()
    response = client.post(
        "/telephony/hooks/sms", data=params, base_url="http://10.0.0.5:8000",
        headers={"X-Twilio-Signature": sign(app, "/telephony/hooks/sms", params)},
    )
    assert response.status_code == 200


@pytest.fixture
def proxied_app(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'p.sqlite'}", tmp_path / "i", BEHIND_PROXY=True,
                   PUBLIC_BASE_URL=None)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_without_public_url_proxy_headers_give_the_signed_url(proxied_app):
    client = proxied_app.test_client()
    params = sms_params()
    headers = {"X-Twilio-Signature": sign(proxied_app, "/telephony/hooks/sms", params),
               "X-Forwarded-Proto": "https", "X-Forwarded-Host": "calls.example.org",
               "X-Forwarded-For": "203.0.113.9"}
    response = client.post("/telephony/hooks/sms", data=params,
                           base_url="http://127.0.0.1:8000", headers=headers)
    assert response.status_code == 200
    del headers["X-Forwarded-Proto"]  # then the URL is http://..., not what was signed
    response = client.post("/telephony/hooks/sms", data=params,
                           base_url="http://127.0.0.1:8000", headers=headers)
    assert response.status_code == 403


def test_a_retried_inbound_text_is_handled_once(app, client, factories):
    factories.org_with_admin()
    params = sms_params("HELP")
    first = post_signed(client, "/telephony/hooks/sms", params)
    again = post_signed(client, "/telephony/hooks/sms", params)
    assert "<Message>" in first.get_data(as_text=True)
    assert "<Message>" not in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id))) == 1
    assert db.session.scalar(select(func.count(ProviderEvent.id))) == 1


def test_docs_list_every_webhook_path(app):
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "telephony.md").read_text()
    for rule in hook_rules(app):
        assert f"`{rule.rule.replace('<token>', '<leg>')}`" in docs, rule.rule


def test_telephony_stylesheet_is_served(client):
    response = client.get("/telephony/static/css/telephony.css")
    assert response.status_code == 200 and response.mimetype == "text/css"


@pytest.mark.twilio
def test_with_twilio_an_inbound_text_is_answered_in_twiml_without_a_rest_call(
        app, client, factories, http_client):
    import xml.etree.ElementTree as ET

    org, _ = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    org.help_text = "Help text"
    db.session.commit()
    response = post_signed(client, "/telephony/hooks/sms", sms_params("HELP"))
    root = ET.fromstring(response.get_data(as_text=True))
    assert response.mimetype == "text/xml"
    assert [(node.tag, node.text) for node in root] == [("Message", "Help text")]
    assert http_client.requests == []


@pytest.mark.twilio
def test_twilio_calls_are_paced_at_the_configured_rate(app):
    from ringround.config import TelephonySettings
    from sms.provider import get_provider

    assert TelephonySettings.from_environ().calls_per_second == 1.0  # the default: 1
    assert get_provider().calls_per_second == app.config["TELEPHONY"].calls_per_second
