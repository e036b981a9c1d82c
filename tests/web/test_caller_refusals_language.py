"""A volunteer who chose French reads every refusal of their results in French (the real
catalogue): the change-my-last-result page, and the outbox's refused entries."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ringround.models import Attempt, CallMethod, utcnow
from tests.caller_fixtures import calling_operation, sign_in
from tests.conftest import csrf_token_from


@pytest.fixture
def french(app, db):
    op, agent, contacts = calling_operation(n=3)
    agent.language = "fr"
    db.session.commit()
    return op, agent


def _home(client, op) -> str:
    return client.get(f"/call/{op.id}").get_data(as_text=True)


def _sync(client, op, html, entries) -> dict:
    return client.post(f"/api/call/{op.id}/sync", data=json.dumps({"entries": entries}),
                       content_type="application/json",
                       headers={"X-CSRFToken": csrf_token_from(html)}).get_json()


def _result(html: str, disposition: str = "no_answer", **extra) -> dict:
    target_id = int(re.search(r'data-target="(\d+)"', html).group(1))
    return {"kind": "result", "client_id": str(uuid.uuid4()), "target_id": target_id,
            "disposition": disposition, "answers": {}, "notes": "", "field_updates": {},
            "started_at": utcnow().isoformat(), "ended_at": utcnow().isoformat(), **extra}


def test_the_last_result_page_says_in_french_that_the_person_was_called_again(
        client, french, db, factories):
    op, agent = french
    sign_in(client, agent)
    html = _home(client, op)
    entry = _result(html)
    assert _sync(client, op, html, [entry])["accepted"] == [entry["client_id"]]
    mine = db.session.scalar(select(Attempt))
    # Someone else called the same person since.
    other = factories.phone_user("Other caller")
    db.session.add(Attempt(client_id=str(uuid.uuid4()), operation_id=op.id,
                           target_id=mine.target_id, contact_id=mine.contact_id,
                           agent_id=other.id, method=CallMethod.OWN_PHONE,
                           disposition="no_answer", recorded_at=utcnow()))
    db.session.commit()
    page = client.get(f"/call/{op.id}/last").get_data(as_text=True)
    refused = client.post(f"/call/{op.id}/last", data={
        "csrf_token": csrf_token_from(page), "group": "contacted", "q.q1": "yes"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Cette personne a été rappelée depuis\u00a0: le résultat" in text
    assert "called again" not in text


def test_a_late_edit_from_the_outbox_is_refused_in_french(client, french, db):
    op, agent = french
    sign_in(client, agent)
    html = _home(client, op)
    entry = _result(html)
    assert _sync(client, op, html, [entry])["accepted"]
    attempt = db.session.scalar(select(Attempt))
    attempt.recorded_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    edit = {"kind": "edit", "client_id": str(uuid.uuid4()),
            "result_client_id": entry["client_id"], "disposition": "talked",
            "group": "contacted", "answers": {}, "notes": ""}
    body = _sync(client, op, html, [edit])
    assert body["rejected"] == [{
        "client_id": edit["client_id"],
        "error": "Un résultat ne peut être modifié que dans les dix minutes."}]


def test_a_result_with_a_broken_time_is_refused_in_french(client, french):
    op, agent = french
    sign_in(client, agent)
    html = _home(client, op)
    body = _sync(client, op, html, [_result(html, started_at="yesterday-ish")])
    assert body["rejected"][0]["error"] == (
        "«\u00a0L’heure de début\u00a0» n’est pas une date avec une heure.")
