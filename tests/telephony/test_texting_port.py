"""The core's texting port (`ringround.texting`): sms registers it at start, and what goes
through it reaches the app's provider, now or by the queue's job."""

from __future__ import annotations

import pytest

import ringround.texting as port
from ringround.texting import register_texting, texting
from sms.provider import get_provider
from sms.texting import ProviderTexting


def test_the_telephony_package_registers_itself_when_the_app_starts(app):
    assert isinstance(texting(), ProviderTexting)
    assert texting().is_simulated() is get_provider().is_simulated is True


def test_a_text_sent_now_or_later_reaches_the_provider(app, db):
    texting().send_now("+16175550101", "Code 1")
    db.session.commit()  # as a request does before a job runs
    texting().send_later("+16175550102", "Code 2")  # JOBS_IMMEDIATE: the job runs at once
    db.session.rollback()  # read what the job committed
    sent = [(text.to, text.body) for text in get_provider().outbox]
    assert sent[-2:] == [("+16175550101", "Code 1"), ("+16175550102", "Code 2")]


def test_without_a_registered_package_the_port_says_so(monkeypatch):
    monkeypatch.setattr(port, "_registered", [])
    with pytest.raises(RuntimeError, match="create_app"):
        texting()
    register_texting(ProviderTexting())
    assert isinstance(texting(), ProviderTexting)
