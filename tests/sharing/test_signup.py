"""Sign-up forms: contacts created or merged with consent, tags and targets; spam kept out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ringround.models import Consent, Contact, ContactPhone, SignupForm, Target
from ringround.signup_forms import SignupError, form_for_keyword, save_signup_form
from tests.sharing.conftest import form_post, sign_in


def _submit(client, world, **data):
    payload = {"first_name": "Ana", "last_name": "Lima", "phone": "(202) 555-0111",
               "consent": "y", **data}
    return form_post(client, f"/s/{world.form.slug}", payload)


def _contacts(db, org_id):
    return db.session.scalars(select(Contact).where(Contact.organization_id == org_id)).all()


def test_a_sign_up_creates_a_contact_with_consent_tags_and_a_target(db, client, world):
    response = _submit(client, world, email="Ana@Example.org")
    assert response.status_code == 302 and response.location == f"/s/{world.form.slug}/thanks"
    [contact] = _contacts(db, world.org.id)
    assert (contact.first_name, contact.last_name, contact.email) == ("Ana", "Lima",
                                                                      "ana@example.org")
    assert [p.e164 for p in contact.phones] == ["+12025550111"]
    assert sorted(t.name for t in contact.tags) == ["event", "volunteer"]
    [consent] = contact.consents
    assert consent.text == "You may call me about the campaign."
    assert consent.text_version == "1" and consent.source == f"form:{world.form.id}"
    assert consent.recorded_at is not None
    assert db.session.scalar(select(Target.operation_id).where(
        Target.contact_id == contact.id)) == world.operation.id
    assert db.session.get(SignupForm, world.form.id).submissions == 1


@pytest.mark.parametrize(("source_tags", "targeted"), [(["volunteer"], True),
                                                       (["members"], False)])
def test_a_sign_up_becomes_a_target_only_if_the_operations_source_takes_it(
        db, client, world, source_tags, targeted):
    world.operation.source_filter = {"tags_any": source_tags}
    db.session.commit()
    _submit(client, world)
    [contact] = _contacts(db, world.org.id)
    found = db.session.scalar(select(Target.id).where(Target.contact_id == contact.id))
    assert (found is not None) is targeted


def test_a_second_sign_up_merges_into_the_same_contact(db, client, world):
    _submit(client, world, last_name="")
    _submit(client, world, first_name="Ana Maria", last_name="Lima", phone="+1 202 555 0111")
    [contact] = _contacts(db, world.org.id)
    assert contact.first_name == "Ana" and contact.last_name == "Lima"  # blanks filled only
    assert len(contact.consents) == 2 and len(contact.phones) == 1
    assert db.session.scalar(select(func.count(Target.id))) == 1


def test_an_email_match_merges_and_adds_the_phone(db, client, world, factories):
    existing = factories.contact(world.org, first_name="Ana", email="ana@example.org")
    _submit(client, world, email="ana@example.org", phone="+12025550133")
    [contact] = _contacts(db, world.org.id)
    assert contact.id == existing.id
    assert len(contact.phones) == 2 and contact.phones[-1].e164 == "+12025550133"


def test_changing_the_consent_text_makes_a_new_version(db, client, world):
    save_signup_form(db.session, org=world.org, actor=world.admin, form=world.form,
                     title=world.form.title, fields=world.form.fields,
                     consent_text="You may call and text me.", tags=world.form.tags)
    db.session.commit()
    _submit(client, world)
    consent = db.session.scalar(select(Consent))
    assert consent.text == "You may call and text me." and consent.text_version == "2"


def test_the_honeypot_catches_bots_quietly(db, client, world):
    response = _submit(client, world, website="http://spam.example")
    assert response.status_code == 302
    assert _contacts(db, world.org.id) == []


@pytest.mark.parametrize(("data", "message"), [
    ({"first_name": ""}, "Please fill this in."),
    ({"phone": "12"}, "phone number"),
    ({"email": "not-an-email"}, "That email address does not look right."),
    ({"consent": ""}, "Please tick the box to agree"),
])
def test_bad_input_gets_clear_messages(db, client, world, data, message):
    response = _submit(client, world, **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert "Please correct the marked fields." in html
    assert _contacts(db, world.org.id) == []


def test_the_public_form_links_the_privacy_statement_and_shows_the_consent_text(client, world):
    html = client.get(f"/s/{world.form.slug}").get_data(as_text=True)
    assert 'href="/privacy"' in html and "You may call me about the campaign." in html
    assert 'name="website"' in html and 'tabindex="-1"' in html


def test_a_closed_form_is_not_found(db, client, world):
    world.form.active = False
    assert client.get(f"/s/{world.form.slug}").status_code == 404


def test_kiosk_pages_never_remember_or_show_an_earlier_entry(db, client, world):
    world.form.kiosk = True
    db.session.commit()
    page = client.get(f"/s/{world.form.slug}")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert 'autocomplete="off"' in html and 'autocomplete="given-name"' not in html
    thanks = client.get(_submit(client, world, first_name="Zoltan").location)
    thanks_html = thanks.get_data(as_text=True)
    assert "Zoltan" not in thanks_html and "See you soon!" in thanks_html
    # The return is timed by sharing.js, with a "Next person" link for no-JS browsers: a meta
    # refresh is a timing axe-core flags as critical (WCAG 2.2.1).
    assert f'data-kiosk-return="/s/{world.form.slug}" data-kiosk-seconds="6"' in thanks_html
    assert 'http-equiv="refresh"' not in thanks_html
    assert "Zoltan" not in client.get(f"/s/{world.form.slug}").get_data(as_text=True)


@pytest.fixture
def app_overrides():
    return {"SIGNUP_RATE_LIMIT": "3 per minute"}


def test_sign_ups_are_rate_limited(client, world):
    for n in range(3):
        assert _submit(client, world, phone=f"+1202555012{n}").status_code == 302
    assert _submit(client, world, phone="+12025550129").status_code == 429


def test_organizers_build_a_form_and_share_it(db, client, world):
    sign_in(client, world.organizer)
    response = form_post(client, "/console/signup-forms/new", {
        "title": "Tenants' fair", "intro": "Leave your details", "consent_text": "Call me.",
        "privacy_url": "https://example.org/privacy", "tags": "fair, tenants, fair",
        "thank_you": "Merci!", "operation_id": str(world.operation.id), "language": "fr",
        "sms_keyword": "fair", "kiosk": "y", "active": "y", "field_first_name": "required",
        "field_last_name": "off", "field_phone": "optional", "field_email": "optional",
        "field_postcode": "optional", "field_city": "off", "field_language": "off",
    })
    form = db.session.scalar(select(SignupForm).where(SignupForm.title == "Tenants' fair"))
    assert response.location == f"/console/signup-forms/{form.id}"
    assert form.fields == {"first_name": "required", "phone": "optional", "email": "optional",
                           "postcode": "optional"}
    assert form.tags == ["fair", "tenants"] and form.sms_keyword == "FAIR" and form.kiosk
    assert form.operation_id == world.operation.id and form.language == "fr"
    edit = client.get(f"/console/signup-forms/{form.id}").get_data(as_text=True)
    assert f"http://localhost/s/{form.slug}" in edit


def test_a_form_must_ask_a_phone_or_an_email(db, world):
    with pytest.raises(SignupError, match="phone number or an email"):
        save_signup_form(db.session, org=world.org, actor=world.admin, title="x",
                         fields={"first_name": "required"}, consent_text="ok")


def test_a_form_cannot_add_people_to_another_organizations_operation(db, world, factories):
    other_op = factories.operation(world.other_org, world.other_admin)
    with pytest.raises(SignupError):
        save_signup_form(db.session, org=world.org, actor=world.admin, title="x",
                         fields={"phone": "required"}, consent_text="ok",
                         operation_id=other_op.id)


def test_sms_keywords_find_their_form_for_the_telephony_part(db, world):
    save_signup_form(db.session, org=world.org, actor=world.admin, form=world.form,
                     title=world.form.title, fields=world.form.fields,
                     consent_text=world.form.consent_text, sms_keyword=" Join ")
    assert form_for_keyword(db.session, world.org.id, "join").id == world.form.id
    assert form_for_keyword(db.session, world.other_org.id, "JOIN") is None
    assert form_for_keyword(db.session, world.org.id, "nope") is None
    with pytest.raises(SignupError, match="already uses"):
        save_signup_form(db.session, org=world.org, actor=world.admin, title="Second",
                         fields={"phone": "required"}, consent_text="ok", sms_keyword="JOIN")


def test_contacts_in_other_organizations_are_never_merged(db, client, world, factories):
    factories.contact(world.other_org, first_name="Other", phone="+12025550111")
    _submit(client, world)
    assert len(_contacts(db, world.org.id)) == 1
    assert db.session.scalar(select(func.count(ContactPhone.id)).where(
        ContactPhone.e164 == "+12025550111")) == 2


def test_an_email_only_form_creates_then_merges_by_email(db, client, world):
    save_signup_form(db.session, org=world.org, actor=world.admin, form=world.form,
                     title="Newsletter", fields={"first_name": "optional", "email": "required"},
                     consent_text=world.form.consent_text, tags=["news"])
    world.form.operation_id = None
    db.session.commit()
    for name in ("Bea", "Beatrice"):
        response = form_post(client, f"/s/{world.form.slug}",
                             {"first_name": name, "email": "bea@example.org", "consent": "y"})
        assert response.status_code == 302
    [contact] = _contacts(db, world.org.id)
    assert contact.email == "bea@example.org" and contact.first_name == "Bea"
    assert [t.name for t in contact.tags] == ["news"] and len(contact.consents) == 2
    assert contact.phones == []


def test_a_sign_up_from_an_opted_out_number_is_kept_off_the_call_list(db, client, world):
    from ringround.optouts import opt_out_number

    opt_out_number(db.session, world.org.id, "+12025550111", "sms_stop")
    db.session.commit()
    _submit(client, world)
    [contact] = _contacts(db, world.org.id)
    assert contact.do_not_contact
    target = db.session.scalar(select(Target).where(Target.contact_id == contact.id))
    assert target.reason == "opted_out"


def test_a_kiosk_reads_a_national_number_as_the_organizations_country(db, client, world):
    world.form.kiosk = True
    world.org.default_region = "FR"
    db.session.commit()
    assert _submit(client, world, phone="06 12 34 56 78").status_code == 302
    [contact] = _contacts(db, world.org.id)
    assert [p.e164 for p in contact.phones] == ["+33612345678"]
