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


def test_codes_in_contact_fields_are_named_in_the_reader_language(app):
    named = {}
    for locale in ("en", "fr", "sv", "nl"):
        with force_locale(locale):
            named[locale] = (formats.field_value("fr", "language"),
                             formats.field_value("SE", "country"),
                             formats.field_value("1980-05-01", "date_of_birth"),
                             formats.field_value("Lyon", "city"),
                             formats.language_label("xx-unknown"), formats.country_name("ZZ9"))
    assert named["en"] == ("French", "Sweden", "5/1/1980", "Lyon", "xx-unknown", "ZZ9")
    assert named["sv"][:3] == ("franska", "Sverige", "1980-05-01")
    assert named["fr"][:2] == ("français", "Suède")
    assert named["nl"][:2] == ("Frans", "Zweden")


def test_the_contact_page_names_language_and_country(client, db, factories):
    from datetime import date

    org, admin = factories.org_with_admin()
    org.language = "sv"
    person = factories.contact(org, "Camille", language="fr", country="FR",
                               date_of_birth=date(1980, 5, 1))
    db.session.commit()
    factories.login(client, admin)
    page = client.get(f"/console/contacts/{person.id}").get_data(as_text=True)
    assert "<dd>franska</dd>" in page and "Frankrike</dd>" in page
    assert "<dd>1980-05-01</dd>" in page
    assert "<dd>fr</dd>" not in page and ", FR</dd>" not in page


def test_the_caller_card_names_the_contacts_language(client, db):
    from ringround.models import Operation, Organization
    from tests.caller_fixtures import calling_operation, sign_in

    op, agent, _ = calling_operation(n=1)
    op = db.session.get(Operation, op.id)
    op.field_settings = {"fields": [{"key": "first_name", "visibility": "visible"},
                                    {"key": "language", "visibility": "visible"}]}
    db.session.get(Organization, op.organization_id).language = "fr"
    db.session.commit()
    sign_in(client, agent)
    page = client.get(f"/call/{op.id}").get_data(as_text=True)
    assert "<dd>anglais</dd>" in page and "<dd>en</dd>" not in page
