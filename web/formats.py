"""Dates, times, weekdays, numbers and percentages in the reader's locale (Babel's CLDR data):
"mån 14:00", "1 234,5", "45 %"; phone numbers in groups ("+33 6 12 34 56 78"). Registered as
Jinja filters for every blueprint's pages."""

from __future__ import annotations

from datetime import date, datetime, time

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, get_day_names
from babel.numbers import format_decimal, format_percent
from flask import Flask
from flask_babel import get_locale

from ringround.phones import readable


def _locale():
    return get_locale() or "en"


def clock(value: time | datetime | None) -> str:
    """A wall-clock time, 24-hour, written as the locale writes it ("14:00")."""
    return format_skeleton("Hm", value, locale=_locale()) if value is not None else ""


def day_clock(value: datetime | None) -> str:
    """A weekday and a time ("mån 14:00", "lun. 14:00")."""
    return format_skeleton("EHm", value, locale=_locale()) if value is not None else ""


def day(value: date | datetime | None) -> str:
    """A date in the locale's short numeric form ("2026-12-03", "03/12/2026")."""
    return format_skeleton("yMd", value, locale=_locale()) if value is not None else ""


def moment(value: datetime | None) -> str:
    """A date and a time ("2026-12-03 16:35")."""
    return f"{day(value)} {clock(value)}" if value is not None else ""


def number(value: float | int | None) -> str:
    """A number with the locale's separators ("1 234,5")."""
    return format_decimal(value, locale=_locale()) if value is not None else ""


def percent(value: float | int | None) -> str:
    """A percentage given as 0-100 ("45 %" in Swedish, "45%" in English)."""
    return format_percent((value or 0) / 100, locale=_locale())


def weekday_names(width: str = "abbreviated") -> list[str]:
    """Monday first, in the locale ("mån", "tis", …)."""
    names = get_day_names(width, locale=_locale())
    return [names[i] for i in range(7)]


def language_label(code: str | None) -> str:
    """A language code as a word in the reader's language ("fr": "French", "franska");
    a code Babel does not know stays as it is."""
    if not code:
        return ""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(_locale()) or code
    except (ValueError, UnknownLocaleError):
        return code


def country_name(code: str | None) -> str:
    """A country code (ISO 3166) as the reader's language names it ("FR": "France",
    "Frankrike"); an unknown code stays as it is."""
    if not code:
        return ""
    return Locale.parse(str(_locale())).territories.get(code.upper(), code)


def field_value(value: object, key: str) -> str:
    """A contact field's value as a person reads it: languages and countries named, dates
    in the locale's form; other values as they are."""
    if value is None or value == "":
        return ""
    if key == "language":
        return language_label(str(value))
    if key == "country":
        return country_name(str(value))
    if key == "date_of_birth":
        try:
            return day(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    return str(value)


def register_formats(app: Flask) -> None:
    for name, function in (("clock", clock), ("day_clock", day_clock), ("day", day),
                           ("moment", moment), ("number", number), ("percent", percent),
                           ("phone", readable), ("language_label", language_label),
                           ("country_name", country_name), ("field_value", field_value)):
        app.add_template_filter(function, name)
    app.add_template_global(weekday_names)
