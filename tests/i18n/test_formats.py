"""Dates, times, weekdays, numbers and percentages as each locale writes them."""

from __future__ import annotations

from datetime import datetime, time

from flask_babel import force_locale

from web import formats


def test_each_locale_writes_its_own_formats(app):
    monday = datetime(2026, 12, 7, 14, 0)
    written = {}
    for locale in ("en", "fr", "sv", "nl"):
        with force_locale(locale):
            written[locale] = (formats.day_clock(monday), formats.number(1234.5),
                               formats.percent(45), formats.day(monday),
                               formats.clock(time(9, 5)), formats.weekday_names()[0])
    assert written["sv"] == ("mån 14:00", "1\xa0234,5", "45\xa0%", "2026-12-07", "09:05", "mån")
    assert written["fr"][:3] == ("lun. 14:00", "1\u202f234,5", "45\xa0%")
    assert written["nl"][1:3] == ("1.234,5", "45%")
    assert written["en"] == ("Mon 14:00", "1,234.5", "45%", "12/7/2026", "09:05", "Mon")


def test_the_review_step_names_the_days_in_the_reader_language(client, db, factories):
    org, admin = factories.org_with_admin()
    org.language = "sv"
    op = factories.operation(org, admin, weekdays="01", window_start=time(9, 0),
                             window_end=time(17, 30))
    db.session.commit()
    factories.login(client, admin)
    page = client.get(f"/console/operations/{op.id}/steps/review").get_data(as_text=True)
    assert "09:00–17:30, mån tis" in page
