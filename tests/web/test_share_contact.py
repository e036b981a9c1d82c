"""A volunteer shares a contact from the caller app: the rules (consent, merge, target only
when the operation's source takes the person, audit) and every refusal, over HTTP."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import (
    AuditEntry,
    Contact,
    ContactPhone,
    CustomField,
    Operation,
    OperationMember,
    OperationRole,
    OperationState,
    Organization,
    Target,
)
from ringround.people.volunteer_shares import SHARED_SOURCE, SHARED_TAG
from tests import factories
from tests.caller_fixtures import calling_operation, sign_in
from tests.conftest import csrf_token_from

SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "contacts" / "shared"
PURPOSE = "Volunteering at the food bank"


@pytest.fixture
def app_overrides():
    return {"SHARE_CONTACT_RATE_LIMIT": "3 per hour"}


@pytest.fixture
def setup(app, client):
    """An active operation that takes only people tagged SHARED_TAG, its agent signed in."""
    op, agent, contacts = calling_operation(n=2, source_filter={"tags_any": [SHARED_TAG]})
    sign_in(client, agent)
    return op, agent, contacts


def _share(client, op, *, file: tuple[bytes, str] | None = None, consent: bool = True,
           purpose: str = PURPOSE, **typed):
    html = client.get(f"/call/{op.id}/share").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(html), "purpose": purpose, **typed}
    if consent:
        data["consent"] = "y"
    if file is not None:
        data["card"] = (io.BytesIO(file[0]), file[1])
    return client.post(f"/call/{op.id}/share", data=data, content_type="multipart/form-data")


def _contacts_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Contact))


def _by_number(e164: str) -> Contact:
    db.session.rollback()
    return db.session.scalar(select(Contact).join(ContactPhone).where(ContactPhone.e164 == e164))


def test_android_card_becomes_a_tagged_contact_with_its_consent_and_a_target(setup, client):
    op, agent, _ = setup
    response = _share(client, op, file=((SHARED / "android_2.1.vcf").read_bytes(), "Åsa.vcf"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Thanks, we have Åsa." in html
    assert "Öberg" not in html and "asa@example.se" not in html
    person = _by_number("+46701234567")
    assert (person.first_name, person.last_name) == ("Åsa", "Öberg")
    assert sorted(p.e164 for p in person.phones) == ["+46701234567", "+46812345678"]
    assert person.email == "asa@example.se"
    assert [t.name for t in person.tags] == [SHARED_TAG]
    assert person.custom["consent_source"] == SHARED_SOURCE
    assert person.custom["consent_purpose"] == PURPOSE
    assert "notes" not in person.custom  # the volunteer's own notes stay on their phone
    assert len(person.consents) == 1 and PURPOSE in person.consents[0].text
    assert person.consents[0].source == SHARED_SOURCE
    assert {f.key for f in db.session.scalars(select(CustomField))} >= {
        "consent_source", "consent_purpose"}
    target = db.session.scalar(select(Target).where(Target.contact_id == person.id))
    assert target is not None and target.operation_id == op.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.shared"))
    assert (entry.actor_id, entry.subject_id) == (agent.id, person.id)
    assert entry.details == {"operation_id": op.id, "via": "vcard", "new": True,
                             "target_added": True}


def test_iphone_card_keeps_every_number_in_e164_and_its_address(setup, client):
    op, _, _ = setup
    response = _share(client, op, file=((SHARED / "iphone_3.0.vcf").read_bytes(), "JP.vcf"))
    assert "Thanks, we have Jean-Pierre." in response.get_data(as_text=True)
    person = _by_number("+33612345678")
    assert sorted(p.e164 for p in person.phones) == ["+33478123456", "+33612345678"]
    assert (person.city, person.postcode, person.country) == ("Lyon", "69002", "FR")
    assert person.custom["organization"] == "Syndicat CGT / Section Lyon"


def test_typed_name_and_national_number_use_the_organizations_country(setup, client):
    op, _, _ = setup
    response = _share(client, op, first_name="Dana", last_name="Reyes", phone="(202) 555-0142")
    assert "Thanks, we have Dana." in response.get_data(as_text=True)
    person = _by_number("+12025550142")
    assert person.last_name == "Reyes" and person.source == SHARED_SOURCE
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.shared"))
    assert entry.details["via"] == "typed"


def test_an_operation_whose_source_does_not_take_them_gets_no_target(app, client):
    op, agent, _ = calling_operation(n=1, source_filter={"tags_any": ["members"]})
    sign_in(client, agent)
    response = _share(client, op, first_name="Dana", phone="+1 202 555 0142")
    assert response.status_code == 200
    person = _by_number("+12025550142")
    assert person is not None
    assert db.session.scalar(select(Target).where(Target.contact_id == person.id)) is None


def test_an_ended_operation_gets_no_target(setup, client):
    op, _, _ = setup
    db.session.get(Operation, op.id).state = OperationState.ENDED
    db.session.commit()
    _share(client, op, first_name="Dana", phone="+1 202 555 0142")
    person = _by_number("+12025550142")
    assert db.session.scalar(select(Target).where(Target.contact_id == person.id)) is None


def _answer(html: str) -> str:
    """The page without what differs between two requests (CSRF token, the given name)."""
    html = re.sub(r'(csrf_token"[^>]*value="|"X-CSRFToken": ")[^"]+', "", html)
    return html.replace("Mimi", "NAME").replace("Dana", "NAME")


def test_a_known_number_is_merged_and_not_revealed(setup, client):
    op, _, _ = setup
    org_id = op.organization_id
    known = factories.contact(db.session.get(Organization, org_id),
                              first_name="Maria", last_name="Hidden-Surname",
                              phone="+12025550199", email="maria.private@example.org")
    before = _contacts_count()
    existing = _share(client, op, first_name="Mimi", phone="202-555-0199")
    new = _share(client, op, first_name="Dana", phone="202-555-0142")
    assert existing.status_code == new.status_code == 200
    text = existing.get_data(as_text=True)
    assert "Thanks, we have Mimi." in text
    for secret in ("Maria", "Hidden-Surname", "maria.private"):
        assert secret not in text
    assert _answer(text) == _answer(new.get_data(as_text=True))
    assert _contacts_count() == before + 1  # Dana only; Mimi is Maria
    maria = db.session.get(Contact, known.id)
    assert maria.first_name == "Maria" and maria.organization_id == org_id
    assert SHARED_TAG in [t.name for t in maria.tags]
    assert maria.custom["consent_purpose"] == PURPOSE


@pytest.mark.parametrize(("file", "typed", "message"), [
    ((b"first name,phone\nAna,0612\n", "list.csv"), {}, "is not a contact card"),
    ((b"\x89PNG\r\n\x1a\n\x00\x00", "photo.vcf"), {}, "is not a contact card"),
    (((SHARED.parent / "iphone_3.0.vcf").read_bytes(), "all.vcf"), {}, "holds 2 contacts"),
    ((b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Solo;Han;;;\r\nEND:VCARD\r\n", "han.vcf"), {},
     "has no phone number"),
    (None, {"first_name": "Dana"}, "has no phone number"),
    (None, {"first_name": "Dana", "phone": "12"}, "does not look right"),
    (None, {"phone": "+1 202 555 0142"}, "Give the person"),
])
def test_a_bad_share_is_refused_with_a_message_and_stores_nothing(setup, client, file, typed,
                                                                  message):
    op, _, _ = setup
    before = _contacts_count()
    response = _share(client, op, file=file, **typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'")
    assert _contacts_count() == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "contact.shared")) == 0
    if typed.get("first_name"):
        assert 'value="Dana"' in html  # what was typed is kept


@pytest.mark.parametrize(("consent", "purpose", "message"), [
    (False, PURPOSE, "Please confirm that this person agreed"),
    (True, "   ", "Say what they agreed to be contacted about"),
])
def test_consent_and_purpose_are_required(setup, client, consent, purpose, message):
    op, _, _ = setup
    before = _contacts_count()
    response = _share(client, op, consent=consent, purpose=purpose, first_name="Dana",
                      phone="+1 202 555 0142")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _contacts_count() == before


def test_shares_are_limited_per_volunteer(setup, client, app):
    op, _, _ = setup
    for n in range(3):
        assert _share(client, op, first_name="Dana", phone=f"+1 202 555 014{n}"
                      ).status_code == 200
    assert _share(client, op, first_name="Dana", phone="+1 202 555 0149").status_code == 429
    assert _by_number("+12025550149") is None
    other = factories.phone_user("Other")
    db.session.add(OperationMember(operation_id=op.id, user_id=other.id,
                                   role=OperationRole.AGENT))
    db.session.commit()
    second = app.test_client()
    sign_in(second, other)
    assert _share(second, op, first_name="Dana", phone="+1 202 555 0149").status_code == 200


def test_the_caller_page_and_its_menu_lead_to_the_share_page(setup, client):
    op, _, _ = setup
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    assert html.count(f'href="/call/{op.id}/share"') == 2
    page = client.get(f"/call/{op.id}/share")
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert 'accept=".vcf,text/vcard,text/x-vcard"' in text
    assert "<script>" not in text.replace("</script>", "")  # only external scripts


def test_without_csrf_nothing_is_stored(setup, client):
    op, _, _ = setup
    response = client.post(f"/call/{op.id}/share", data={
        "first_name": "Dana", "phone": "+1 202 555 0142", "purpose": PURPOSE, "consent": "y"})
    assert response.status_code == 400
    assert _by_number("+12025550142") is None


def test_the_share_sheet_lands_on_the_volunteers_operation_or_a_choice(setup, client):
    op, agent, _ = setup
    answer = client.get("/call/share")
    assert answer.status_code == 302 and answer.location.endswith(f"/call/{op.id}/share")
    other = factories.operation(db.session.get(Organization, op.organization_id),
                                name="Second drive", state=OperationState.ACTIVE)
    db.session.add(OperationMember(operation_id=other.id, user_id=agent.id,
                                   role=OperationRole.AGENT))
    db.session.commit()
    page = client.get("/call/share").get_data(as_text=True)
    assert f'href="/call/{op.id}/share"' in page and f'href="/call/{other.id}/share"' in page


def test_the_manifest_offers_the_app_in_the_share_sheet_for_contact_cards(client):
    manifest = client.get("/static/manifest.webmanifest").get_json(force=True)
    target = manifest["share_target"]
    assert (target["action"], target["method"], target["enctype"]) == (
        "/call/share-target", "POST", "multipart/form-data")
    assert target["params"]["files"] == [
        {"name": "card", "accept": [".vcf", "text/vcard", "text/x-vcard"]}]
    # the POST is the service worker's, never the server's (it has no CSRF token)
    assert client.post("/call/share-target").status_code in (400, 404, 405)
