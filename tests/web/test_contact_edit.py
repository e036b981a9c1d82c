"""An organizer corrects a contact on its page: fields, custom fields by their label, tags and
numbers, checked by the import's rules; a refusal keeps what was typed and saves nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ringround import operations as ops
from ringround.accounts import create_password_user
from ringround.extensions import db
from ringround.models import (
    AuditEntry,
    Contact,
    ContactPhone,
    CustomField,
    CustomFieldType,
    Operation,
    OperationMember,
    OperationRole,
    OperationState,
    PhoneLabel,
    Tag,
    Target,
    TargetState,
)
from ringround.optouts import is_opted_out, opt_out_number
from ringround.queue import materialize_targets
from tests.conftest import post_form
from tests.factories import PASSWORD, login


@pytest.fixture
def admin_client(client, factories):
    org, admin = factories.org_with_admin()
    org.default_region = "FR"
    db.session.add(CustomField(organization_id=org.id, key="membre_depuis",
                               label="Membre depuis", type=CustomFieldType.NUMBER))
    db.session.commit()
    login(client, admin)
    client.org = org
    return client


@pytest.fixture
def elodie(admin_client, factories):
    person = factories.contact(admin_client.org, first_name="Elodie", phone="+33123456789",
                               last_name="Martin", email="elodie@example.org", country="FR",
                               time_zone="Europe/Paris", custom={"membre_depuis": 2019})
    person.tags.append(Tag(organization_id=admin_client.org.id, name="bénévole"))
    db.session.commit()
    return person


def form_of(person: Contact, **changes) -> dict:
    """The edit form as the page fills it, with `changes`."""
    data = {"first_name": person.first_name or "", "last_name": person.last_name or "",
            "email": person.email or "", "street": person.street or "",
            "postcode": person.postcode or "", "city": person.city or "",
            "country": person.country or "", "language": person.language or "",
            "date_of_birth": "", "time_zone": person.time_zone or "",
            "custom-membre_depuis": "2019", "tags": ", ".join(t.name for t in person.tags),
            "new_phone": "", "new_phone_label": ""}
    data.update((f"phone-{p.id}-label", str(p.label)) for p in person.phones)
    data.update(changes)
    return data


def edit(client, person, **changes):
    page = f"/console/contacts/{person.id}/edit"
    return post_form(client, page, form_of(person, **changes))


def test_the_contact_page_offers_edit_and_names_custom_fields_by_their_label(admin_client,
                                                                            elodie):
    html = admin_client.get(f"/console/contacts/{elodie.id}").get_data(as_text=True)
    assert f'href="/console/contacts/{elodie.id}/edit"' in html
    assert "Membre depuis" in html and "membre_depuis" not in html
    form = admin_client.get(f"/console/contacts/{elodie.id}/edit").get_data(as_text=True)
    assert '<label for="f-custom-membre_depuis">Membre depuis</label>' in form
    assert 'name="custom-membre_depuis" type="text" value="2019"' in form
    assert 'value="bénévole"' in form


def test_an_organizer_corrects_fields_tags_and_numbers(admin_client, elodie):
    phone_id = elodie.phones[0].id
    response = edit(admin_client, elodie, first_name="  Élodie ", email="Elodie.Martin@Example.ORG",
                    language="fr", date_of_birth="1980-12-31", street="12 rue de la Paix",
                    postcode="75002", city="Paris", **{"custom-membre_depuis": "2020,5",
                    "tags": "donatrice, fr", f"phone-{phone_id}-label": "landline",
                    "new_phone": "06 12 34 56 78"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/console/contacts/{elodie.id}"
    db.session.expire_all()
    person = db.session.get(Contact, elodie.id)
    assert (person.first_name, person.email, person.language, str(person.date_of_birth)) == (
        "Élodie", "elodie.martin@example.org", "fr", "1980-12-31")
    assert person.custom == {"membre_depuis": 2020.5}
    assert sorted(t.name for t in person.tags) == ["donatrice", "fr"]
    assert [(p.e164, p.label) for p in person.phones] == [
        ("+33123456789", PhoneLabel.LANDLINE), ("+33612345678", PhoneLabel.MOBILE)]
    assert person.household is not None  # the new address's household
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Changes saved." in page and "+33 6 12 34 56 78" in page

    response = edit(admin_client, person, **{f"phone-{phone_id}-remove": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [p.e164 for p in db.session.get(Contact, elodie.id).phones] == ["+33612345678"]


def test_bad_email_and_number_are_refused_with_what_was_typed(admin_client, elodie):
    response = edit(admin_client, elodie, first_name="Élodie-Anne", email="elodie@example",
                    new_phone="06 12", **{"custom-membre_depuis": "depuis toujours"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert "This is not an email address." in html
    assert "This is not a phone number we can call." in html
    assert "Write a number, for example 12 or 3,5." in html
    for typed in ('value="Élodie-Anne"', 'value="elodie@example"', 'value="06 12"',
                  'value="depuis toujours"'):
        assert typed in html
    assert 'id="f-email" name="email" type="email" value="elodie@example" autocomplete="off" ' \
           'aria-invalid="true"' in html
    db.session.expire_all()
    person = db.session.get(Contact, elodie.id)
    assert (person.first_name, person.email, len(person.phones)) == (
        "Elodie", "elodie@example.org", 1)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.edited")) \
        is None


def test_a_number_of_another_contact_is_refused_not_moved(admin_client, elodie, factories):
    other = factories.contact(admin_client.org, first_name="Sem", phone="+33612345678")
    response = edit(admin_client, elodie, new_phone="06 12 34 56 78")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This number belongs to another contact: it was not moved here." in html
    assert f'<a href="/console/contacts/{other.id}">Open that contact</a>' in html
    db.session.expire_all()
    owner = db.session.scalar(select(ContactPhone.contact_id).where(
        ContactPhone.e164 == "+33612345678"))
    assert owner == other.id and len(db.session.get(Contact, elodie.id).phones) == 1


def test_an_edit_is_audited_with_the_fields_not_their_values(admin_client, elodie):
    before = elodie.updated_at
    edit(admin_client, elodie, email="new.address@example.org", new_phone="+33 6 98 76 54 32",
         **{"custom-membre_depuis": "2021"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.edited"))
    assert (entry.subject_type, entry.subject_id) == ("contact", elodie.id)
    assert entry.details == {"changed": ["email", "custom.membre_depuis", "phones"]}
    written = json.dumps(entry.details)
    assert "new.address" not in written and "2021" not in written and "98" not in written
    db.session.expire_all()
    assert db.session.get(Contact, elodie.id).updated_at > before


def test_an_opted_out_number_added_keeps_the_contact_from_being_called(admin_client, elodie):
    opt_out_number(db.session, admin_client.org.id, "+33698765432", "sms")
    db.session.commit()
    assert edit(admin_client, elodie, new_phone="06 98 76 54 32").status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, elodie.id).do_not_contact
    assert is_opted_out(db.session, admin_client.org.id, "+33698765432")
    html = admin_client.get(f"/console/contacts/{elodie.id}").get_data(as_text=True)
    assert "opted out" in html


def test_language_country_time_zone_and_date_follow_the_import_rules(admin_client, elodie):
    response = edit(admin_client, elodie, country="Atlantis", language="klingon!",
                    time_zone="Mars/Olympus", date_of_birth="2999-01-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Choose a country from the list.", "Choose a language from the list.",
                    "Choose a time zone from the list.", "Write a date between 1900 and today."):
        assert message in html
    assert edit(admin_client, elodie, country="Sverige", language="svenska",
                date_of_birth="31/12/1980").status_code == 302
    db.session.expire_all()
    person = db.session.get(Contact, elodie.id)
    assert (person.country, person.language, str(person.date_of_birth)) == (
        "SE", "sv", "1980-12-31")


def test_callers_cannot_edit(admin_client, elodie, factories):
    agent = create_password_user(db.session, email="caller@example.org", password=PASSWORD,
                                 display_name="Caller")
    operation = factories.operation(admin_client.org, name="Calls")
    operation.members.append(OperationMember(user_id=agent.id, role=OperationRole.AGENT))
    db.session.commit()
    caller = admin_client.application.test_client()
    login(caller, agent)
    assert caller.get(f"/console/contacts/{elodie.id}/edit").status_code == 403
    response = post_form(caller, f"/console/contacts/{elodie.id}/edit",
                         form_of(elodie, first_name="Hacked"), page="/my/operations")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Contact, elodie.id).first_name == "Elodie"


def test_values_an_older_import_kept_survive_an_edit_of_another_field(admin_client, factories):
    person = factories.contact(admin_client.org, first_name="Ola", phone="+33123450000",
                               country="UK", time_zone="Etc/GMT+5", language="x-klingon")
    form = admin_client.get(f"/console/contacts/{person.id}/edit").get_data(as_text=True)
    assert '<option value="Etc/GMT+5" selected>' in form
    assert '<option value="UK" selected>' in form
    response = post_form(admin_client, f"/console/contacts/{person.id}/edit",
                         form_of(person, first_name="Olav", **{"custom-membre_depuis": ""}))
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Contact, person.id)
    assert (person.first_name, person.country, person.time_zone, person.language) == (
        "Olav", "UK", "Etc/GMT+5", "x-klingon")


def test_the_contacts_calls_follow_the_edit(admin_client, elodie, factories):
    """A corrected time zone moves their waiting target to it; a tag an operation excludes
    takes them out of it (and removing the tag brings them back)."""
    operation = factories.operation(admin_client.org, name="Calls",
                                     state=OperationState.ACTIVE, source_filter={})
    materialize_targets(db.session, operation)
    ops.update_exclusions(db.session, operation, household_wide=False,
                          rules=[{"kind": "tag", "tag": "staff", "label": "Staff"}],
                          done_conditions=[], cooldown_minutes=0, max_calls_per_person=None)
    db.session.commit()

    def target():
        db.session.expire_all()
        return db.session.scalar(select(Target).where(Target.contact_id == elodie.id))

    assert (target().time_zone, target().state) == ("Europe/Paris", TargetState.WAITING)
    assert edit(admin_client, elodie, time_zone="America/Cayenne").status_code == 302
    assert target().time_zone == "America/Cayenne"
    assert "America/Cayenne" in db.session.get(Operation, operation.id).time_zones
    person = db.session.get(Contact, elodie.id)
    assert edit(admin_client, person, tags="bénévole, staff").status_code == 302
    assert (target().state, target().reason) == (TargetState.REMOVED, "Staff")
    assert edit(admin_client, person, tags="bénévole").status_code == 302
    assert target().state == TargetState.WAITING


def test_an_edit_without_the_forms_token_is_refused(admin_client, elodie):
    response = admin_client.post(f"/console/contacts/{elodie.id}/edit",
                                 data=form_of(elodie, first_name="Forged"))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Contact, elodie.id).first_name == "Elodie"
