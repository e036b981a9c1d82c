"""The caller app over HTTP: cards, results through the sync API, skips, batches, privacy."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ringround.models import (
    Attempt,
    OperationMember,
    OperationMode,
    OperationRole,
    Target,
    TargetState,
    utcnow,
)
from tests.caller_fixtures import (
    HIDDEN_CUSTOM,
    HIDDEN_EMAIL,
    calling_operation,
    sign_in,
)
from tests.conftest import csrf_token_from


@pytest.fixture
def calling(app, db):
    op, agent, contacts = calling_operation(n=5)
    return op, agent, contacts


def _home(client, op):
    response = client.get(f"/call/{op.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post_json(client, url, payload, html):
    return client.post(url, data=json.dumps(payload), content_type="application/json",
                       headers={"X-CSRFToken": csrf_token_from(html)})


def _target_id(html: str) -> int:
    return int(re.search(r'data-target="(\d+)"', html).group(1))


def _result(target_id: int, disposition: str = "talked", **extra) -> dict:
    return {"kind": "result", "client_id": str(uuid.uuid4()), "target_id": target_id,
            "disposition": disposition, "answers": {}, "notes": "", "field_updates": {},
            "started_at": utcnow().isoformat(), "ended_at": utcnow().isoformat(), **extra}


def test_anonymous_is_sent_to_sign_in_and_api_says_401(client, calling):
    op, _, _ = calling
    assert client.get(f"/call/{op.id}").status_code == 302
    assert client.get(f"/api/call/{op.id}/token").status_code == 401


def test_someone_outside_the_operation_is_refused(client, calling, factories):
    op, _, _ = calling
    stranger = factories.phone_user("Stranger")
    sign_in(client, stranger)
    assert client.get(f"/call/{op.id}").status_code == 403
    assert client.get(f"/api/call/{op.id}/token").status_code == 403


def test_card_shows_exposed_fields_highlighted_first_and_a_tel_link(client, calling, db):
    op, agent, contacts = calling
    sign_in(client, agent)
    html = _home(client, op)
    target = db.session.get(Target, _target_id(html))
    contact = next(c for c in contacts if c.id == target.contact_id)
    assert f'href="tel:{contact.phones[0].e164}"' in html
    assert contact.first_name in html
    # City is highlighted, so it comes before the other fields; language is editable.
    assert 'class="highlight">City' in html
    assert 'name="field.language"' in html
    # Hidden fields appear nowhere, not even in the page source.
    assert HIDDEN_EMAIL not in html and HIDDEN_CUSTOM not in html
    # The script is Markdown rendered safely.
    assert "<strong>Ringround</strong>" in html and "<script>alert" not in html
    assert target.state == TargetState.LEASED and target.leased_to_id == agent.id


def test_reloading_keeps_the_same_person(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    assert _target_id(_home(client, op)) == _target_id(_home(client, op))


def test_sync_records_each_result_once_even_when_resent(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    batch = _post_json(client, f"/api/call/{op.id}/batch", {"n": 3}, html).get_json()
    entries = [_result(row["target_id"], answers={"q1": "yes"}) for row in batch["leases"][:3]]
    # The first sync is cut off after one entry; the phone then resends all three, twice.
    first = _post_json(client, f"/api/call/{op.id}/sync", {"entries": entries[:1]}, html)
    assert first.get_json()["accepted"] == [entries[0]["client_id"]]
    for _ in range(2):
        again = _post_json(client, f"/api/call/{op.id}/sync", {"entries": entries}, html)
        assert sorted(again.get_json()["accepted"]) == sorted(e["client_id"] for e in entries)
    counts = dict(db.session.execute(
        select(Attempt.client_id, func.count()).group_by(Attempt.client_id)).all())
    assert counts == {e["client_id"]: 1 for e in entries}
    attempt = db.session.scalar(select(Attempt).where(Attempt.client_id == entries[0]["client_id"]))
    assert attempt.disposition == "talked" and attempt.answers == {"q1": "yes"}
    assert attempt.agent_id == agent.id


def _lease_proof(html: str) -> str:
    return re.search(r'name="lease_proof" value="([0-9a-f]+)"', html).group(1)


def test_a_result_after_the_lease_ended_is_kept(client, calling, db):
    from ringround.queue import expire_leases

    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    target = db.session.get(Target, _target_id(html))
    target.lease_expires_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    expire_leases(db.session)  # the queue no longer knows who held it
    db.session.commit()
    entry = _result(target.id, "no_answer", lease_proof=_lease_proof(html))
    body = _post_json(client, f"/api/call/{op.id}/sync", {"entries": [entry]}, html).get_json()
    assert body["accepted"] == [entry["client_id"]]
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1


def test_results_for_people_not_given_to_the_caller_are_rejected(client, calling, db):
    op, agent, contacts = calling
    sign_in(client, agent)
    html = _home(client, op)
    given = _target_id(html)
    other = db.session.scalar(select(Target.id).where(Target.operation_id == op.id,
                                                      Target.id != given))
    forged = [_result(other, "talked"), _result(other, "talked", lease_proof=_lease_proof(html))]
    body = _post_json(client, f"/api/call/{op.id}/sync", {"entries": forged}, html).get_json()
    assert body["accepted"] == []
    assert {r["error"] for r in body["rejected"]} == {"That person was not given to you to call."}
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_unknown_answers_and_fields_that_are_not_editable_are_dropped(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    entry = _result(_target_id(html), answers={"q1": "no", "q3": "A ride", "evil": "x"},
                    field_updates={"language": "es", "email": "new@example.org"})
    _post_json(client, f"/api/call/{op.id}/sync", {"entries": [entry]}, html)
    attempt = db.session.scalar(select(Attempt))
    assert attempt.answers == {"q1": "no", "q3": "A ride"}
    assert attempt.field_updates == {"language": "es"}


def test_an_unknown_disposition_is_rejected_with_a_reason(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    entry = _result(_target_id(html), "made_up")
    body = _post_json(client, f"/api/call/{op.id}/sync", {"entries": [entry]}, html).get_json()
    assert body["accepted"] == [] and body["rejected"][0]["client_id"] == entry["client_id"]
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_result_form_without_javascript_records_and_shows_the_next_person(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    first = _target_id(html)
    response = client.post(f"/call/{op.id}/result", data={
        "csrf_token": csrf_token_from(html), "target_id": first,
        "client_id": re.search(r'name="client_id" value="([^"]+)"', html).group(1),
        "group": "contacted", "q.q1": "yes", "q.q2": "4", "notes": "Lovely chat",
    })
    assert response.status_code == 302
    attempt = db.session.scalar(select(Attempt))
    assert (attempt.target_id, attempt.disposition, attempt.notes) == (first, "talked",
                                                                       "Lovely chat")
    assert attempt.answers == {"q1": "yes", "q2": "4"}
    assert _target_id(_home(client, op)) != first


def test_skip_gives_the_person_back_and_shows_someone_else(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    first = _target_id(html)
    client.post(f"/call/{op.id}/skip", data={"csrf_token": csrf_token_from(html),
                                              "target_id": first, "reason": "knows_person"})
    target = db.session.get(Target, first)
    assert target.state == TargetState.WAITING and target.leased_to_id is None
    assert _target_id(_home(client, op)) != first


def test_offline_batch_holds_exposed_fields_only_and_can_be_returned(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    response = _post_json(client, f"/api/call/{op.id}/batch", {"n": 3}, html)
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert HIDDEN_EMAIL not in text and HIDDEN_CUSTOM not in text
    leases = response.get_json()["leases"]
    # The card already open is part of the batch, and one of the 3 taken.
    assert len(leases) == 3 and _target_id(html) in {row["target_id"] for row in leases}
    assert all("tel:+" in row["card_html"] and row["expires_at"] for row in leases)
    ids = [row["target_id"] for row in leases]
    body = _post_json(client, f"/api/call/{op.id}/return", {"target_ids": ids}, html).get_json()
    assert body["returned"] == 3
    assert {db.session.get(Target, i).state for i in ids} == {TargetState.WAITING}


def test_taking_5_for_offline_calling_puts_exactly_5_people_on_the_phone(client, app, db):
    op, agent, _ = calling_operation(n=8)
    sign_in(client, agent)
    html = _home(client, op)  # the open card is one of them
    leases = _post_json(client, f"/api/call/{op.id}/batch", {"n": 5}, html).get_json()["leases"]
    assert len(leases) == 5
    held = db.session.scalar(select(func.count()).select_from(Target).where(
        Target.operation_id == op.id, Target.leased_to_id == agent.id,
        Target.state == TargetState.LEASED))
    assert held == 5
    # Asking for 5 again (a double tap) leaves 5 on the phone.
    again = _post_json(client, f"/api/call/{op.id}/batch", {"n": 5}, html).get_json()["leases"]
    assert len(again) == 5


def test_an_empty_queue_shows_calling_hours_not_a_blank_page(client, app, db):
    # Contacts where it is the middle of the night: nobody is callable now.
    from datetime import UTC, datetime

    hour = datetime.now(UTC).hour
    offset = (3 - hour + 12) % 24 - 12
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    op, agent, _ = calling_operation(n=2, zone=zone)
    sign_in(client, agent)
    html = _home(client, op)
    assert "tel:" not in html
    assert "Next people can be called from 09:00 their time." in html
    assert "Calling hours: from 09:00 to 21:00, their time." in html


def test_an_empty_queue_inside_calling_hours_says_people_are_cooling_down(client, app, db):
    """Inside the calling hours, with everyone waiting out a cool-down, the card does not
    send the volunteer to the calling hours (it used to)."""
    from datetime import timedelta

    from ringround.models import utcnow

    op, agent, _ = calling_operation(n=2)
    db.session.execute(Target.__table__.update().where(Target.operation_id == op.id).values(
        next_eligible_at=utcnow() + timedelta(minutes=40), reason="cooldown"))
    db.session.commit()
    sign_in(client, agent)
    html = _home(client, op)
    assert "Nobody can be called right now." in html and "tel:" not in html
    assert "Calling hours: from" not in html
    assert "waiting out the time between calls" in html


def test_guided_mode_marks_the_form_for_one_question_at_a_time(client, app, db):
    op, agent, _ = calling_operation(n=1, mode=OperationMode.GUIDED)
    sign_in(client, agent)
    html = _home(client, op)
    assert 'data-mode="guided"' in html
    assert 'data-q="q1"' in html and 'value="no" data-next="q3"' in html


def test_campaign_line_button_rings_the_callers_phone_then_the_result_joins_the_call(
        client, app, db):
    from ringround.models import Attempt, SimCall

    op, agent, _ = calling_operation(n=1, allow_campaign_line=True)
    sign_in(client, agent)
    html = _home(client, op)
    assert "Call through the campaign line" in html
    target_id = _target_id(html)
    client_id = re.search(r'name="client_id" value="([^"]+)"', html).group(1)
    response = client.post(f"/call/{op.id}/bridge/{target_id}",
                           data={"csrf_token": csrf_token_from(html), "client_id": client_id})
    assert response.status_code == 302
    assert "Your phone is ringing" in _home(client, op)
    ringing = db.session.scalar(db.select(SimCall))
    assert ringing.to_number == agent.phone_e164 and ringing.phase == "ringing"
    attempt = db.session.scalar(db.select(Attempt))
    assert attempt.client_id == client_id and attempt.method.value == "bridged"
    # After the redirect the card keeps its id: the result joins the bridged attempt.
    page = _home(client, op)
    assert f'name="client_id" value="{client_id}"' in page
    client.post(f"/call/{op.id}/result", data={
        "csrf_token": csrf_token_from(page), "target_id": target_id, "client_id": client_id,
        "group": "contacted", "q.q1": "yes"})
    attempts = db.session.scalars(db.select(Attempt)).all()
    assert len(attempts) == 1 and attempts[0].disposition == "talked"
    assert attempts[0].method.value == "bridged" and attempts[0].recorded_at is not None


def test_the_phone_script_places_a_bridged_call_and_stays_on_the_card(client, app, db):
    op, agent, _ = calling_operation(n=1, allow_campaign_line=True)
    sign_in(client, agent)
    html = _home(client, op)
    response = client.post(f"/call/{op.id}/bridge/{_target_id(html)}",
                           data={"csrf_token": csrf_token_from(html), "client_id": "x" * 36},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("ok", "pending", "message")} == {
        "ok": True, "pending": False, "message": "Your phone is ringing: pick up to be connected."}
    # The page may ask again how the call stands (when a worker places it later).
    status = client.get(body["status_url"]).get_json()
    assert status == {"found": True, "ok": True, "pending": False,
                      "message": "Your phone is ringing: pick up to be connected."}


def test_progress_counts_calls_and_thanks_at_milestones(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    entry = _result(_target_id(html))
    _post_json(client, f"/api/call/{op.id}/sync", {"entries": [entry]}, html)
    progress = client.get(f"/api/call/{op.id}/progress").get_json()
    assert progress["calls"] == 1 and progress["reached"] == 1 and progress["milestone"] == 1
    assert "Your first call today" in _home(client, op)


def test_the_last_result_can_be_changed_within_ten_minutes(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    entry = _result(_target_id(html), "no_answer")
    _post_json(client, f"/api/call/{op.id}/sync", {"entries": [entry]}, html)
    page = client.get(f"/call/{op.id}/last").get_data(as_text=True)
    assert 'value="no_answer" checked' in page
    assert "Send a follow-up text" in page  # the telephony part's one-tap texts
    client.post(f"/call/{op.id}/last", data={"csrf_token": csrf_token_from(page),
                                              "group": "contacted", "q.q1": "yes",
                                              "notes": "Called back at once"})
    attempt = db.session.scalar(select(Attempt))
    assert attempt.disposition == "talked" and attempt.notes == "Called back at once"
    # After ten minutes it stays as it is.
    attempt.created_at = attempt.recorded_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert client.get(f"/call/{op.id}/last").status_code == 302


def test_signing_out_tells_the_browser_to_wipe_its_storage(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    response = client.post("/logout", data={"csrf_token": csrf_token_from(html)})
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_start_url_opens_the_only_operation(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    response = client.get("/call/")
    assert response.status_code == 302 and response.location.endswith(f"/call/{op.id}")


def test_a_skip_made_offline_gives_the_person_back_when_it_syncs(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    target_id = _target_id(html)
    skip = {"kind": "skip", "client_id": str(uuid.uuid4()), "target_id": target_id,
            "reason": "language"}
    body = _post_json(client, f"/api/call/{op.id}/sync", {"entries": [skip]}, html).get_json()
    assert body["accepted"] == [skip["client_id"]]
    target = db.session.get(Target, target_id)
    assert target.state == TargetState.WAITING and target.leased_to_id is None


def test_next_lease_as_json_holds_the_card_of_the_open_lease(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    body = _post_json(client, f"/api/call/{op.id}/next", {}, html).get_json()
    assert body["lease"]["target_id"] == _target_id(html)
    assert HIDDEN_EMAIL not in body["lease"]["card_html"]


def test_progress_fragment_and_htmx_card_carry_the_callers_figures(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    _home(client, op)
    assert 'id="progress"' in client.get(f"/call/{op.id}/progress").get_data(as_text=True)
    card = client.get(f"/call/{op.id}/card", headers={"HX-Request": "true"})
    text = card.get_data(as_text=True)
    assert card.headers["Cache-Control"] == "no-store"
    assert 'id="progress" hx-swap-oob="true"' in text and "tel:+" in text and "<html" not in text
    # Without htmx the card's URL is the page itself.
    assert client.get(f"/call/{op.id}/card").status_code == 302


def test_the_offline_shell_holds_nobody(client, calling, db):
    op, agent, _ = calling
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}/shell").get_data(as_text=True)
    assert "tel:" not in html and "Person" not in html and 'data-shell-only="1"' in html
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0
    assert not db.session.scalars(select(Target).where(
        Target.state == TargetState.LEASED)).all()


@pytest.mark.postgres
def test_resent_results_count_once_on_postgresql(pg_app):
    from ringround.extensions import db

    op, agent, _ = calling_operation(n=3)
    client = pg_app.test_client()
    sign_in(client, agent)
    html = _home(client, op)
    leases = _post_json(client, f"/api/call/{op.id}/batch", {"n": 2}, html).get_json()["leases"]
    entries = [_result(row["target_id"], "busy") for row in leases]
    for chunk in (entries[:1], entries, entries):
        _post_json(client, f"/api/call/{op.id}/sync", {"entries": chunk}, html)
    rows = db.session.execute(select(Attempt.client_id, func.count())
                              .group_by(Attempt.client_id)).all()
    assert sorted(rows) == sorted((e["client_id"], 1) for e in entries)


def test_a_phone_never_holds_more_than_the_batch_cap(client, app, db):
    """A batch holds at most CALLER_BATCH_MAX people (10), however often and however many
    are asked for: a batch is for a shift without network, not for reading the list."""
    op, agent, _ = calling_operation(n=60)
    sign_in(client, agent)
    html = _home(client, op)
    for _ in range(3):
        body = _post_json(client, f"/api/call/{op.id}/batch", {"n": 50}, html).get_json()
        assert len(body["leases"]) == 10
    assert db.session.scalar(select(func.count()).select_from(Target).where(
        Target.leased_to_id == agent.id)) == 10


def test_an_owner_outside_the_staff_finds_the_operations_dashboard_from_the_caller_app(
        client, calling, db, factories):
    op, _agent, _ = calling
    owner = factories.phone_user("Owner from a join link")
    db.session.add(OperationMember(operation_id=op.id, user_id=owner.id,
                                   role=OperationRole.OWNER))
    db.session.commit()
    dashboard = f"/console/operations/{op.id}"
    sign_in(client, owner)
    # With one operation, an owner still gets the choice: calling, or managing.
    start = client.get("/call/")
    assert start.status_code == 200
    html = start.get_data(as_text=True)
    assert f'href="/call/{op.id}"' in html and f'href="{dashboard}"' in html
    assert f'href="{dashboard}"' in _home(client, op)
    assert client.get(dashboard).status_code == 200


def test_an_agent_sees_no_way_to_manage(client, calling):
    op, agent, _ = calling
    sign_in(client, agent)
    assert "/console/operations/" not in _home(client, op)
    assert client.get(f"/console/operations/{op.id}").status_code == 403


def test_an_edit_sent_from_the_outbox_changes_the_result_once(client, calling, db, factories):
    op, agent, _ = calling
    sign_in(client, agent)
    html = _home(client, op)
    target_id = _target_id(html)
    first = _result(target_id, disposition="no_answer")
    first["group"] = "no_contact"
    sync = f"/api/call/{op.id}/sync"
    assert _post_json(client, sync, {"entries": [first]}, html).get_json()["accepted"]
    change = {"kind": "edit", "client_id": str(uuid.uuid4()),
              "result_client_id": first["client_id"], "disposition": "talked",
              "group": "contacted", "answers": {"q1": "yes", "nope": "dropped"},
              "notes": "Picked up after all"}
    for _ in range(2):  # a resend of the same edit is accepted and changes nothing more
        body = _post_json(client, sync, {"entries": [change]}, html).get_json()
        assert body == {"accepted": [change["client_id"]], "rejected": []}
    attempts = db.session.scalars(select(Attempt)).all()
    assert len(attempts) == 1
    assert (attempts[0].disposition, attempts[0].answers, attempts[0].notes) == (
        "talked", {"q1": "yes"}, "Picked up after all")
    assert db.session.get(Target, target_id).state == TargetState.DONE

    # Nobody else's result, and not after ten minutes.
    other = factories.phone_user("Other caller")
    stranger = dict(change, client_id=str(uuid.uuid4()), result_client_id="no-such-result")
    body = _post_json(client, sync, {"entries": [stranger]}, html).get_json()
    assert body["rejected"][0]["error"] == "There is no such result of yours to change."
    attempts[0].agent_id = other.id
    db.session.commit()
    late = dict(change, client_id=str(uuid.uuid4()), disposition="refused", group="remove")
    body = _post_json(client, sync, {"entries": [late]}, html).get_json()
    assert body["rejected"][0]["error"] == "There is no such result of yours to change."
    attempts[0].agent_id = agent.id
    attempts[0].recorded_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    body = _post_json(client, sync, {"entries": [late]}, html).get_json()
    assert body["rejected"][0]["error"] == "A result can only be changed within ten minutes."
    assert db.session.get(Attempt, attempts[0].id).disposition == "talked"


def test_yes_no_answers_are_in_the_volunteers_language(client, db):
    """A template applied in French stores "Oui"/"Non"; a volunteer who reads Swedish sees
    "Ja"/"Nej" (the question's text stays the organizer's own words)."""
    from ringround.models import Operation, Organization

    op, agent, _ = calling_operation(n=1)
    op = db.session.get(Operation, op.id)
    db.session.get(Organization, op.organization_id).language = "fr"
    op.questionnaire = {"questions": [
        {"id": "q1", "type": "yes_no", "text": "Viendrez-vous ?", "next": None, "choices": [
            {"value": "yes", "label": "Oui", "next": None},
            {"value": "no", "label": "Non", "next": None}]}]}
    agent.language = "sv"
    db.session.commit()
    sign_in(client, agent)
    page = client.get(f"/call/{op.id}").get_data(as_text=True)
    assert "Viendrez-vous ?" in page
    assert "> Ja</label>" in page and "> Nej</label>" in page
    assert "> Oui</label>" not in page
