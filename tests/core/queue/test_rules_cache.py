"""The queue's rules cache never hands out rules built from other values."""

from __future__ import annotations

from datetime import UTC, datetime, time
from types import SimpleNamespace

from ringround.queue._sql import RulesCache


def _row(**changes):
    values = dict(id=1, updated_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), dispositions=None,
                  retry_rules={"no_answer": {"retries": 2, "interval_minutes": 60}},
                  exclusions=None, cooldown_minutes=0, max_calls_per_person=None,
                  window_start=time(9, 0), window_end=time(21, 0), weekdays="0123456")
    return SimpleNamespace(**{**values, **changes})


def test_same_id_and_time_with_other_rules_gets_other_rules():
    """A frozen clock (or a second database in the same process) gives the same id and
    `updated_at` to operations whose rules differ: each still gets its own."""
    cache = RulesCache()
    first = cache.get(_row())
    changed = cache.get(_row(retry_rules={"no_answer": {"retries": 5, "interval_minutes": 30}},
                             window_end=time(20, 0)))
    assert first[0].retry["no_answer"].retries == 2
    assert changed[0].retry["no_answer"].retries == 5
    assert changed[0].window_end == time(20, 0)


def test_unchanged_rules_are_built_once():
    cache = RulesCache()
    assert cache.get(_row()) is cache.get(_row())
