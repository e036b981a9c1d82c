"""The volunteer's hot path: a result and the next card in one round trip, and what it costs.

Statements are counted at the database driver (every statement SQLite runs; every execute of
psycopg's cursors), so the queue's statements that bypass SQLAlchemy count too. BEGIN, COMMIT
and ROLLBACK are left out of the figure (bench/caller_http.py reports them apart).
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from ringround.extensions import db
from ringround.models import Attempt, Operation, Target, TargetState, utcnow
from tests.caller_fixtures import HIDDEN_CUSTOM, HIDDEN_EMAIL, calling_operation, sign_in

MAX_STATEMENTS_PER_PAIR = 8
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE")


@contextmanager
def counted_statements():
    """A list that collects every SQL statement the driver runs meanwhile (new connections
    only: the pool is emptied first)."""
    engine = db.engine
    seen: list[str] = []

    def note(sql: str) -> None:
        if not sql.lstrip().upper().startswith(_CONTROL):
            seen.append(sql)

    def on_connect(dbapi_connection, _record):
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(note)
            return
        import psycopg

        class Counting(psycopg.Cursor):
            def execute(self, query, *args, **kwargs):
                note(str(query))
                return super().execute(query, *args, **kwargs)

        dbapi_connection.cursor_factory = Counting

    engine.dispose()
    event.listen(engine, "connect", on_connect)
    try:
        yield seen
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()


@contextmanager
def _counting_commits(commits: list[int]):
    """Adds to `commits[0]` each commit of a database connection meanwhile."""
    commits.append(0)

    def on_commit(_connection) -> None:
        commits[-1] += 1

    event.listen(db.engine, "commit", on_commit)
    try:
        yield
    finally:
        event.remove(db.engine, "commit", on_commit)


def _json(client, url, payload, token):
    response = client.post(url, data=json.dumps(payload), content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _entry(lease: dict, disposition: str = "no_answer") -> dict:
    html = lease["card_html"]
    return {"kind": "result", "target_id": lease["target_id"], "disposition": disposition,
            "client_id": re.search(r'name="client_id" value="([^"]+)"', html).group(1),
            "lease_proof": re.search(r'name="lease_proof" value="([^"]+)"', html).group(1),
            "answers": {}, "notes": "", "field_updates": {}, "method": "own_phone",
            "ended_at": utcnow().isoformat()}


def _start(client, op, agent) -> tuple[str, dict]:
    sign_in(client, agent)
    token = client.get(f"/api/call/{op.id}/token").get_json()["csrf_token"]
    first = _json(client, f"/api/call/{op.id}/next", {}, token)["lease"]
    assert first is not None
    return token, first


@pytest.mark.parametrize("line_only", [False, True], ids=["own_phone", "line_only"])
def test_a_result_and_the_next_card_cost_at_most_8_statements(any_app, line_only):
    # Campaign line only: the card leaves the number out, decided from the operation row the
    # guard read already (no statement more).
    op, agent, _contacts = calling_operation(n=6, allow_own_phone=not line_only,
                                             allow_campaign_line=True)
    client = any_app.test_client()
    token, lease = _start(client, op, agent)
    # Warm: the operation's settings are read once per version, then cached.
    lease = _json(client, f"/api/call/{op.id}/sync",
                  {"entries": [_entry(lease)], "next": True}, token)["next"]["lease"]
    url = f"/api/call/{op.id}/sync"  # read here: `op` is the test's object, expired meanwhile
    commits: list[int] = []
    for _pair in range(3):
        entry = _entry(lease)
        # In an app context of its own, as in production: a session of its own (the test's
        # holds the objects the fixtures made).
        with any_app.app_context(), counted_statements() as seen, _counting_commits(commits):
            body = _json(client, url, {"entries": [entry], "next": True}, token)
        assert body["accepted"] == [entry["client_id"]] and body["rejected"] == []
        assert len(seen) <= MAX_STATEMENTS_PER_PAIR, "\n".join(s[:120] for s in seen)
        # The result and the lease share one transaction: one commit a pair, not two.
        assert commits == [1], commits
        commits.clear()
        assert body["next"]["lease"]["target_id"] != entry["target_id"]
        lease = body["next"]["lease"]
        assert ("tel:" in lease["card_html"]) is not line_only
    assert db.session.scalar(select(Attempt).where(
        Attempt.client_id == entry["client_id"])).disposition == "no_answer"


def test_the_next_card_in_the_sync_answer_is_the_card_next_gives(client, app):
    op, agent, _contacts = calling_operation(n=3)
    token, lease = _start(client, op, agent)
    body = _json(client, f"/api/call/{op.id}/sync", {"entries": [_entry(lease)], "next": True},
                 token)
    following = body["next"]["lease"]
    assert following["target_id"] != lease["target_id"]
    # The same card as /next gives for the lease now held (a reload shows the same card).
    again = _json(client, f"/api/call/{op.id}/next", {}, token)["lease"]
    assert again["target_id"] == following["target_id"]
    # The CSRF tokens are signed with the second they were made in: compared apart.
    unsigned = re.compile(r'name="csrf_token" value="[^"]*"')
    assert unsigned.sub("", again["card_html"]) == unsigned.sub("", following["card_html"])
    # Exposed fields only, whichever way the card was built.
    for html in (following["card_html"], lease["card_html"]):
        assert HIDDEN_EMAIL not in html and HIDDEN_CUSTOM not in html
    target = db.session.get(Target, following["target_id"])
    assert target.state == TargetState.LEASED and target.leased_to_id == agent.id


def test_without_next_the_sync_answer_is_unchanged(client, app):
    op, agent, _contacts = calling_operation(n=2)
    token, lease = _start(client, op, agent)
    body = _json(client, f"/api/call/{op.id}/sync", {"entries": [_entry(lease)]}, token)
    assert set(body) == {"accepted", "rejected"}


def test_a_refused_result_still_brings_the_next_card(client, app):
    op, agent, _contacts = calling_operation(n=3)
    token, lease = _start(client, op, agent)
    forged = {**_entry(lease), "lease_proof": "0" * 32, "client_id": str(uuid.uuid4()),
              "target_id": lease["target_id"] + 1}
    body = _json(client, f"/api/call/{op.id}/sync", {"entries": [forged], "next": True}, token)
    assert body["accepted"] == []
    assert body["rejected"][0]["error"] == "That person was not given to you to call."
    # The card still held is the next one.
    assert body["next"]["lease"]["target_id"] == lease["target_id"]


def test_an_edited_script_and_fields_show_on_the_next_card(client, app):
    op, agent, _contacts = calling_operation(n=4)
    token, lease = _start(client, op, agent)
    assert "Ringround" in lease["card_html"]
    operation = db.session.get(Operation, op.id)
    operation.script = "Brand new words for {first_name}"
    db.session.commit()
    lease = _json(client, f"/api/call/{op.id}/sync", {"entries": [_entry(lease)], "next": True},
                  token)["next"]["lease"]
    assert "Brand new words for Person" in lease["card_html"]
    assert HIDDEN_EMAIL not in lease["card_html"]
    # A field made visible shows on the next card (the cached settings follow the edit).
    operation.field_settings = {"fields": [
        *operation.field_settings["fields"][:3],
        {"key": "email", "visibility": "visible", "highlight": False}]}
    db.session.commit()
    lease = _json(client, f"/api/call/{op.id}/sync", {"entries": [_entry(lease)], "next": True},
                  token)["next"]["lease"]
    assert HIDDEN_EMAIL in lease["card_html"]


def test_the_guard_still_refuses_non_members(client, app):
    op, _agent, _contacts = calling_operation(n=1)
    _other_op, stranger, _ = calling_operation(n=1, name="Another operation")
    sign_in(client, stranger)
    assert client.get(f"/api/call/{op.id}/token").status_code == 403
    assert client.get(f"/call/{op.id}").status_code == 403
    assert client.get(f"/call/{op.id + 1000}").status_code == 404


def test_the_cached_result_choices_are_what_the_page_renders(client, app):
    """The phone's cards reuse the result form's choices rendered once; the page renders them
    each time: the same form either way."""
    op, agent, _contacts = calling_operation(n=2)
    token, lease = _start(client, op, agent)
    page = client.get(f"/call/{op.id}").get_data(as_text=True)

    def result_form(html: str) -> str:
        found = re.search(r'<form class="result-form.*?</form>', html, re.S).group(0)
        found = re.sub(r'name="csrf_token" value="[^"]*"', "", found)  # signed with the time
        return re.sub(r"\s+", " ", found)

    assert 'name="disposition" value="no_answer"' in result_form(lease["card_html"])
    assert result_form(lease["card_html"]) == result_form(page)


@pytest.mark.parametrize("app_overrides", [{"CALLER_PEOPLE_PER_MINUTE": 1}])
def test_a_result_sent_when_the_limits_refuse_the_next_card_is_kept(any_app):
    """The result and the next card's lease share one transaction: when the limits refuse the
    lease, the result is still saved (the limits are checked before the lease writes)."""
    op, agent, _contacts = calling_operation(n=3)
    client = any_app.test_client()
    token, lease = _start(client, op, agent)
    entry = _entry(lease, "talked")
    url = f"/api/call/{op.id}/sync"
    with any_app.app_context():  # a session of its own, as in production
        body = _json(client, url, {"entries": [entry], "next": True}, token)
    assert body["accepted"] == [entry["client_id"]]
    assert body["next"]["code"] == "too_many_people" and body["next"]["retry_after"] > 0
    db.session.expire_all()
    saved = db.session.scalar(select(Attempt).where(Attempt.client_id == entry["client_id"]))
    assert saved is not None and saved.disposition == "talked"
    assert db.session.get(Target, entry["target_id"]).state == TargetState.DONE
    # Sent again, it is the same result, once.
    with any_app.app_context():
        again = _json(client, url, {"entries": [entry], "next": True}, token)
    assert again["accepted"] == [entry["client_id"]]
    assert db.session.scalar(select(func.count(Attempt.id)).where(
        Attempt.client_id == entry["client_id"])) == 1
