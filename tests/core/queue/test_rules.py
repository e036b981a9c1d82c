"""Operation rules parsed from the wizard's JSON, validation messages, dispositions, windows."""

from datetime import UTC, datetime, time

from ringround.dispositions import BUILTIN, dispositions_for, group_of
from ringround.models import DispositionGroup, Operation
from ringround.operation_rules import (
    DEFAULT_RETRY_RULES,
    RetryRule,
    default_retry_rules_json,
    parse_exclusions,
    parse_retry_rules,
    rules_for,
    validate_dispositions,
    validate_exclusions,
    validate_retry_rules,
)
from ringround.queue.windows import inside_window, next_opening, zones_inside


def test_builtin_codes_and_groups():
    groups = {d.code: d.group.value for d in BUILTIN}
    assert [c for c, g in groups.items() if g == "contacted"] == ["talked"]
    assert {c for c, g in groups.items() if g == "remove"} == {
        "wrong_number", "disconnected", "deceased", "refused", "hostile", "moved", "do_not_call"}
    assert groups["someone_else"] == groups["auto_voicemail"] == "no_contact"


def test_organizers_rename_and_add_within_groups():
    config = {"labels": {"talked": "Spoke with them"},
              "custom": [{"code": "wants_sign", "label": "Wants a yard sign",
                          "group": "contacted"},
                         {"code": "talked", "label": "Clash", "group": "remove"},
                         {"code": "odd", "label": "Odd", "group": "nonsense"}]}
    found = {d.code: d for d in dispositions_for(config)}
    assert found["talked"].label == "Spoke with them"
    assert found["talked"].group == DispositionGroup.CONTACTED
    assert found["wants_sign"].group == DispositionGroup.CONTACTED and not found[
        "wants_sign"].builtin
    assert "odd" not in found
    assert group_of("wants_sign", config) == DispositionGroup.CONTACTED
    assert validate_dispositions(config) == [
        "talked: this code is already taken.",
        "odd: choose a group (contacted, no_contact or remove)."]


def test_new_operations_get_default_retry_rules(app, db, factories):
    org, _ = factories.org_with_admin()
    op = factories.operation(org)
    assert op.retry_rules == default_retry_rules_json()
    assert rules_for(op).retry == DEFAULT_RETRY_RULES
    assert DEFAULT_RETRY_RULES["no_answer"] == RetryRule(3, 90)
    assert DEFAULT_RETRY_RULES["call_back"] == RetryRule(2, 120)


def test_retry_rules_drop_remove_codes_and_zero_retries():
    rules = parse_retry_rules({"refused": {"retries": 2, "interval_minutes": 5},
                               "busy": {"retries": 0, "interval_minutes": 5},
                               "no_answer": {"retries": "4", "interval_minutes": 30}})
    assert rules == {"no_answer": RetryRule(4, 30)}
    assert validate_retry_rules({"refused": {"retries": 2, "interval_minutes": 5},
                                 "busy": {"retries": -1, "interval_minutes": 5}}) == [
        "refused: results in the remove group are never retried.",
        "busy: retries must be a whole number from 0 to 20."]


def test_exclusions_parse_and_validate():
    parsed = parse_exclusions({"household_wide": True, "rules": [
        {"kind": "field_equals", "field": "voted", "value": "yes", "label": "Already voted"},
        {"kind": "answered", "question": "q1", "answer": None, "label": "Answered"},
        {"kind": "tag", "tag": "staff", "label": "Staff"},
        {"kind": "opted_out", "label": "Opted out"},
        {"kind": "mystery"}],
        "done_conditions": [{"kind": "answered", "question": "signup", "answer": "yes",
                             "label": "Signed up", "reselect_after_days": 30}]})
    assert parsed.household_wide
    assert [r.kind for r in parsed.rules] == ["field_equals", "answered", "tag", "opted_out"]
    assert parsed.done_conditions[0].reselect_after_days == 30
    assert validate_exclusions({"rules": [{"kind": "tag"}, {"kind": "mystery"}],
                                "done_conditions": [{"kind": "answered", "question": "q",
                                                     "reselect_after_days": 0}]}) == [
        "A tag exclusion needs a tag.", "Unknown exclusion kind: 'mystery'.",
        "Reselect after must be a number of days (1 or more)."]


def _rules(**fields):
    op = Operation(window_start=fields.get("start", time(9, 0)),
                   window_end=fields.get("end", time(21, 0)),
                   weekdays=fields.get("weekdays", "0123456"), retry_rules={}, exclusions={},
                   cooldown_minutes=0)
    return rules_for(op)


def test_windows_follow_daylight_saving_time():
    rules = _rules()
    # 13:30 UTC on 7 March 2026 is 08:30 in New York (EST), on 9 March 09:30 (EDT).
    assert not inside_window("America/New_York", datetime(2026, 3, 7, 13, 30, tzinfo=UTC), rules)
    assert inside_window("America/New_York", datetime(2026, 3, 9, 13, 30, tzinfo=UTC), rules)


def test_zones_inside_and_next_opening():
    rules = _rules(weekdays="01234")
    friday_late = datetime(2026, 3, 20, 22, 0, tzinfo=UTC)  # 23:00 Paris, 18:00 New York
    assert zones_inside(["Europe/Paris", "America/New_York"], friday_late, rules) == [
        "America/New_York"]
    # Paris next opens on Monday 09:00 local (08:00 UTC).
    assert next_opening("Europe/Paris", friday_late, rules) == datetime(2026, 3, 23, 8, 0,
                                                                       tzinfo=UTC)
    assert next_opening("Europe/Paris", friday_late, _rules(weekdays="")) is None
