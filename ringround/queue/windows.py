"""Calling windows in each contact's own time zone.

An operation's targets live in a handful of time zones (kept on `Operation.time_zones`). For a
moment `now` the queue computes, in Python, which of those zones are inside the daily window
and on an allowed weekday, and filters `Target.time_zone IN (...)`: the database never has to
do time-zone arithmetic per row.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ringround.operation_rules import OperationRules


@lru_cache(maxsize=512)
def zone(name: str | None) -> ZoneInfo | None:
    """The ZoneInfo of a name, or None if the name is not a known time zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_valid_zone(name: str | None) -> bool:
    return zone(name) is not None


def _inside_local(local: datetime, rules: OperationRules) -> bool:
    start, end, days = rules.window_start, rules.window_end, rules.weekdays
    clock = local.time().replace(tzinfo=None)
    weekday = local.weekday()
    if start == end:  # the whole day
        return weekday in days
    if start < end:
        return weekday in days and start <= clock < end
    # An overnight window (e.g. 18:00-02:00) belongs to the day it started on.
    if clock >= start:
        return weekday in days
    return clock < end and (weekday - 1) % 7 in days


def inside_window(zone_name: str, now: datetime, rules: OperationRules) -> bool:
    """True if `now` is inside the operation's window in that time zone."""
    tz = zone(zone_name) or UTC
    return _inside_local(now.astimezone(tz), rules)


def zones_inside(zone_names, now: datetime, rules: OperationRules) -> list[str]:
    """The zones among `zone_names` that are inside the calling window at `now`."""
    start, end = rules.window_start, rules.window_end
    if start.second or start.microsecond or end.second or end.microsecond:
        return _zones_inside(zone_names, now, rules)
    # Windows start and end on a minute, and time zones are whole minutes apart from UTC
    # today: the answer holds for the whole minute (every lease asks it).
    key = (tuple(zone_names), now.replace(second=0, microsecond=0), start, end,
           rules.weekdays)
    found = _inside_by_minute.get(key)
    if found is None:
        if len(_inside_by_minute) > 1024:
            _inside_by_minute.clear()
        found = _inside_by_minute[key] = _zones_inside(zone_names, now, rules)
    return list(found)


_inside_by_minute: dict[tuple, list[str]] = {}


def _zones_inside(zone_names, now: datetime, rules: OperationRules) -> list[str]:
    return sorted(name for name in set(zone_names) if inside_window(name, now, rules))


def _at(day, clock: time, tz) -> datetime:
    return datetime.combine(day, clock).replace(tzinfo=tz)


def next_opening(zone_name: str, after: datetime, rules: OperationRules) -> datetime | None:
    """The first moment at or after `after` when the window is open in that zone (UTC)."""
    if not rules.weekdays:
        return None
    if inside_window(zone_name, after, rules):
        return after
    tz = zone(zone_name) or UTC
    local_day = after.astimezone(tz).date()
    for offset in range(0, 9):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in rules.weekdays:
            continue
        opening = _at(day, rules.window_start, tz).astimezone(UTC)
        if opening >= after and inside_window(zone_name, opening, rules):
            return opening
        # A daylight-saving gap may swallow the exact opening minute: try the next hour.
        later = opening + timedelta(hours=1)
        if opening >= after and inside_window(zone_name, later, rules):
            return later
    return None
