"""Quiet hours: when a person may be called or texted, on their own clocks."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from ringround.models import Contact, Operation, Organization

DEFAULT_TEXT_WINDOW = (time(9, 0), time(21, 0))


def local_zone(e164: str, contact_zone: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The contact's time zone; else the number's, when it has only one; else `fallback`."""
    candidates = [contact_zone] if contact_zone else []
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        zones = ()
    if len(zones) == 1 and zones[0] != "Etc/Unknown":
        candidates.append(zones[0])
    candidates.append(fallback)
    for name in candidates:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def within_window(now: datetime, zone: ZoneInfo, start: time, end: time,
                  weekdays: str = "0123456") -> bool:
    """True when `now` falls inside [start, end) on an allowed weekday, in `zone`."""
    local = now.astimezone(zone)
    if str(local.weekday()) not in weekdays:
        return False
    moment = local.time()
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # a window across midnight


def quiet_hours(now: datetime, e164: str, contact: Contact | None, org: Organization,
                operation: Operation | None = None) -> bool:
    """True when it is outside the contact's local window: no call and no text now."""
    zone = local_zone(e164, contact.time_zone if contact else None, org.time_zone)
    if operation is not None:
        return not within_window(now, zone, operation.window_start, operation.window_end,
                                 operation.weekdays)
    return not within_window(now, zone, *DEFAULT_TEXT_WINDOW)
