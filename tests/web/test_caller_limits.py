"""What a caller can reach over HTTP: how many people, how fast, and results only for people
whose lease still stands (not handed back, not given to someone else, not too late)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from ringround.models import Attempt, OperationMember, OperationRole, Target, utcnow
from ringround.queue import OFFLINE_LEASE_MINUTES, RESULT_GRACE, expire_leases
from tests.caller_fixtures import calling_operation, sign_in
from tests.conftest import csrf_token_from
from tests.factories import login


@pytest.fixture
def app_overrides():
    return {"CALLER_PEOPLE_PER_MINUTE": 3, "CALLER_PEOPLE_PER_HOUR": 5}


def _home(client, op) -> str:
    response = client.get(f"/call/{op.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post_json(client, url, payload, html):
    return client.post(url, data=json.dumps(payload), content_type="application/json",
                       headers={"X-CSRFToken": csrf_token_from(html)})


def _target_id(html: str) -> int | None:
    found = re.search(r'data-target="(\d+)"', html)
    return int(found.group(1)) if found else None


def _proof(html: str) -> str:
    return re.search(r'name="lease_proof" value="([0-9a-f]+)"', html).group(1)


def _skip(client, op, html) -> int:
    target_id = _target_id(html)
    response = client.post(f"/call/{op.id}/skip", data={
        "csrf_token": csrf_token_from(html), "target_id": target_id, "reason": "other"})
    assert response.status_code == 302
    return target_id


def _result(target_id: int, proof: str | None = None, disposition: str = "deceased") -> dict:
    entry = {"kind": "result", "client_id": str(uuid.uuid4()), "target_id": target_id,
             "disposition": disposition, "answers": {}, "notes": "", "field_updates": {},
             "ended_at": utcnow().isoformat()}
    if proof is not None:
        entry["lease_proof"] = proof
    return entry


def _sync(client, op, html, *entries) -> dict:
    """Send outbox entries as the phone does, with a fresh CSRF token (an offline phone's
    token may have expired by the time it syncs)."""
    token = client.get(f"/api/call/{op.id}/token").get_json()["csrf_token"]
    return client.post(f"/api/call/{op.id}/sync", data=json.dumps({"entries": list(entries)}),
                       content_type="application/json",
                       headers={"X-CSRFToken": token}).get_json()


def test_next_then_skip_is_limited_per_minute_and_per_hour_with_a_clear_message(app, client,
                                                                              db):
    op, agent, _ = calling_operation(n=12)
    sign_in(client, agent)
    start = utcnow()
    with freeze_time(start) as clock:
        seen = set()
        for _ in range(3):
            seen.add(_skip(client, op, _home(client, op)))
            clock.tick(5)
        page = _home(client, op)
        assert _target_id(page) is None and len(seen) == 3
        assert ("You have seen many people very quickly; take a breath, you can go on in "
                "45 seconds.") in page
        answer = _post_json(client, f"/api/call/{op.id}/next", {}, page)
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "45"
        assert answer.get_json() == {
            "code": "too_many_people", "retry_after": 45,
            "error": "You have seen many people very quickly; take a breath, you can go on "
                     "in 45 seconds."}
        # The htmx card says so too (the phone's script loads cards this way).
        card = client.get(f"/call/{op.id}/card", headers={"HX-Request": "true"})
        assert "take a breath" in card.get_data(as_text=True)
        # A minute on, two more; then the hour's five are used up.
        clock.tick(60)
        _skip(client, op, _home(client, op))
        _skip(client, op, _home(client, op))
        clock.tick(60)
        page = _home(client, op)
        assert _target_id(page) is None and "take a breath" in page
        wait = _post_json(client, f"/api/call/{op.id}/next", {}, page).get_json()["retry_after"]
        assert 55 * 60 < wait <= 58 * 60
        clock.tick(timedelta(hours=1))
        assert _target_id(_home(client, op)) is not None


def test_an_offline_batch_is_capped_and_limited(app, client, db):
    op, agent, _ = calling_operation(n=30)
    app.config["CALLER_PEOPLE_PER_MINUTE"] = 100
    app.config["CALLER_PEOPLE_PER_HOUR"] = 14
    sign_in(client, agent)
    html = _home(client, op)
    leases = _post_json(client, f"/api/call/{op.id}/batch", {"n": 50}, html).get_json()["leases"]
    assert len(leases) == 10  # CALLER_BATCH_MAX, the open card included
    ids = [row["target_id"] for row in leases]
    _post_json(client, f"/api/call/{op.id}/return", {"target_ids": ids}, html)
    again = _post_json(client, f"/api/call/{op.id}/batch", {"n": 10}, html).get_json()["leases"]
    assert len(again) == 4  # what the hour still allows
    _post_json(client, f"/api/call/{op.id}/return",
               {"target_ids": [row["target_id"] for row in again]}, html)
    refused = _post_json(client, f"/api/call/{op.id}/batch", {"n": 10}, html)
    assert refused.status_code == 429 and "take a breath" in refused.get_json()["error"]


def test_results_for_people_handed_back_are_not_saved(client, app, db):
    op, agent, _ = calling_operation(n=6)
    sign_in(client, agent)
    html = _home(client, op)
    skipped, proof = _target_id(html), _proof(html)
    _skip(client, op, html)
    html = _home(client, op)
    batch = _post_json(client, f"/api/call/{op.id}/batch", {"n": 3}, html).get_json()["leases"]
    returned = batch[1]["target_id"]
    returned_proof = _proof(batch[1]["card_html"])
    _post_json(client, f"/api/call/{op.id}/return", {"target_ids": [returned]}, html)
    body = _sync(client, op, html, _result(skipped, proof), _result(returned, returned_proof))
    assert body["accepted"] == []
    assert [r["error"] for r in body["rejected"]] == [
        "Not saved: you handed this person back."] * 2
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_results_after_the_lease_went_to_someone_else_or_too_late_are_not_saved(
        client, app, db, factories):
    op, agent, _ = calling_operation(n=3)
    colleague = factories.phone_user("Colleague")
    db.session.add(OperationMember(operation_id=op.id, user_id=colleague.id,
                                   role=OperationRole.AGENT))
    db.session.commit()
    sign_in(client, agent)
    html = _home(client, op)
    batch = _post_json(client, f"/api/call/{op.id}/batch", {"n": 2}, html).get_json()["leases"]
    (first, first_proof), (second, second_proof) = [
        (row["target_id"], _proof(row["card_html"])) for row in batch]
    # The lease runs out; the colleague is given the first person.
    for target_id in (first, second):
        db.session.get(Target, target_id).lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expire_leases(db.session)
    db.session.commit()
    other = app.test_client()
    sign_in(other, colleague)
    assert _target_id(_home(other, op)) in (first, second)
    taken = db.session.scalar(select(Target.id).where(Target.leased_to_id == colleague.id))
    left = second if taken == first else first
    left_proof = second_proof if taken == first else first_proof
    taken_proof = first_proof if taken == first else second_proof
    body = _sync(client, op, html, _result(taken, taken_proof))
    assert body["rejected"][0]["error"] == (
        "Not saved: this person was given to someone else since.")
    # Past the lease's end and its grace period, nothing more is saved either.
    later = utcnow() + timedelta(minutes=OFFLINE_LEASE_MINUTES) + RESULT_GRACE
    with freeze_time(later + timedelta(minutes=1)):
        body = _sync(client, op, html, _result(left, left_proof))
    assert body["rejected"][0]["error"] == "Not saved: you had this person too long ago."
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_a_result_queued_offline_syncs_within_the_grace_period_exactly_once(client, app, db):
    op, agent, _ = calling_operation(n=3)
    sign_in(client, agent)
    html = _home(client, op)
    batch = _post_json(client, f"/api/call/{op.id}/batch", {"n": 2}, html).get_json()["leases"]
    entry = _result(batch[1]["target_id"], _proof(batch[1]["card_html"]), "no_answer")
    # The phone comes back online 23 hours later: the batch's 12 hours plus most of the grace.
    with freeze_time(utcnow() + timedelta(hours=23)):
        for _ in range(2):
            assert _sync(client, op, html, entry)["accepted"] == [entry["client_id"]]
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1


def test_a_new_result_for_someone_already_done_is_not_saved(client, app, db):
    op, agent, _ = calling_operation(n=3)
    sign_in(client, agent)
    html = _home(client, op)
    target_id, proof = _target_id(html), _proof(html)
    assert _sync(client, op, html, _result(target_id, proof, "talked"))["accepted"]
    body = _sync(client, op, html, _result(target_id, proof, "deceased"))
    assert body["rejected"][0]["error"] == (
        "Not saved: a result for this person was recorded already.")
    attempts = db.session.scalars(select(Attempt)).all()
    assert [a.disposition for a in attempts] == ["talked"]


def test_the_dashboard_points_out_a_caller_who_skips_many(client, app, db, factories):
    app.config["CALLER_PEOPLE_PER_MINUTE"] = 100
    app.config["CALLER_PEOPLE_PER_HOUR"] = 100
    op, agent, _ = calling_operation(n=25)
    agent.display_name = "Lina"
    db.session.commit()
    caller = app.test_client()
    sign_in(caller, agent)
    with freeze_time(utcnow()):  # however slow the machine, all within one minute
        for _ in range(20):
            _skip(caller, op, _home(caller, op))
    admin = db.session.get(type(agent), op.members[0].user_id)
    login(client, admin)
    page = client.get(f"/console/operations/{op.id}").get_data(as_text=True)
    assert "Unusual calling in the last hour" in page
    assert re.search(r"Lina skipped 20 people in 1 minute\.", page)
    assert "reached the limit" not in page
    # Had the hour's limit been 20, that is pointed out too (the figures refresh every 10 s).
    app.config["CALLER_PEOPLE_PER_HOUR"] = 20
    figures = client.get(f"/console/operations/{op.id}/figures").get_data(as_text=True)
    assert "Lina skipped 20 people" in figures
    assert "Lina reached the limit of people shown (20 in 1 minute)." in figures
