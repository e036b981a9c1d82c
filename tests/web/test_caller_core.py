"""The caller app's plain functions: cards, result checking, progress words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ringround.calling import (
    ResultError,
    build_card,
    clean_result,
    local_clock,
    milestone_reached,
    needs_wrap_up,
    render_script,
)
from tests.caller_fixtures import HIDDEN_CUSTOM, HIDDEN_EMAIL, calling_operation


@pytest.fixture
def operation(app, db):
    op, _, contacts = calling_operation(n=1)
    return op, contacts[0]


def test_a_card_holds_exposed_fields_only_highlighted_first(operation):
    op, contact = operation
    card = build_card(op, contact, 7, "+16175550000", None)
    assert card.name == contact.first_name
    assert [f["key"] for f in card.fields] == ["city"]
    assert [f["key"] for f in card.editable] == ["language"]
    assert HIDDEN_EMAIL not in repr(card) and HIDDEN_CUSTOM not in repr(card)


def test_scripts_are_rendered_without_raw_html():
    html = render_script("**Hi** <img src=x onerror=alert(1)> [x](javascript:alert(1))")
    assert "<strong>Hi</strong>" in html
    assert "<img" not in html and "href=\"javascript" not in html and "<a " not in html


def test_clean_result_keeps_known_answers_and_editable_fields(operation):
    op, _ = operation
    values = clean_result(op, {
        "client_id": "c" * 36, "target_id": "3", "disposition": "talked",
        "answers": {"q1": "yes", "other": "x"}, "field_updates": {"language": "fr", "email": "x"},
        "started_at": "2026-01-01T10:00:00Z",
    }, editable_keys={"language"})
    assert values["answers"] == {"q1": "yes"} and values["field_updates"] == {"language": "fr"}
    assert values["started_at"] == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_answers_are_dropped_when_nobody_was_reached(operation):
    op, _ = operation
    values = clean_result(op, {"client_id": "c" * 36, "target_id": 3,
                               "disposition": "no_answer", "answers": {"q1": "yes"}}, set())
    assert values["answers"] == {}


@pytest.mark.parametrize("payload, message", [
    ({"client_id": "short", "target_id": 1, "disposition": "talked"}, "client id"),
    ({"client_id": "c" * 36, "target_id": 1, "disposition": "auto_busy"}, "Choose"),
    ({"client_id": "c" * 36, "target_id": None, "disposition": "talked"}, "names no person"),
    ({"client_id": "c" * 36, "target_id": 1, "disposition": "talked",
      "started_at": "2026-01-01T10:00:00"}, "time zone"),
])
def test_clean_result_refuses_what_it_cannot_record(operation, payload, message):
    with pytest.raises(ResultError, match=message):
        clean_result(operation[0], payload, set())


def test_a_call_back_time_is_read_on_the_contacts_clock(operation):
    op, _ = operation
    values = clean_result(op, {"client_id": "c" * 36, "target_id": 1, "disposition": "call_back",
                               "callback_local": "2026-03-02T18:30"}, set(),
                          time_zone="America/New_York")
    assert values["callback_at"] == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert local_clock(values["callback_at"], "America/New_York") == "18:30"


def test_milestones_and_a_gentle_wrap_up():
    assert [n for n in range(60) if milestone_reached(n)] == [1, 10, 25, 50]
    now = datetime(2026, 1, 1, 20, tzinfo=UTC)
    assert not needs_wrap_up(None, now)
    assert not needs_wrap_up(now - timedelta(minutes=90), now)
    assert needs_wrap_up(now - timedelta(hours=2), now)
