"""Campaign numbers: one organization per number, unambiguous inbound routing, and STOP that
reaches every organization calling or texting from the number."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from ringround.config import TelephonySettings
from ringround.extensions import db
from ringround.models import Organization
from ringround.optouts import is_opted_out
from tests.conftest import post_form
from tests.factories import login
from tests.telephony.conftest import PUBLIC, post_signed

SHARED_DEFAULT = "+15005550006"  # TWILIO_FROM_NUMBER: every organization without its own
NUMBER = "+14155550100"
REMOTE = "+16175550123"


@pytest.fixture
def app_overrides():
    return {"PUBLIC_BASE_URL": PUBLIC,
            "TELEPHONY": TelephonySettings("simulator", None, None, SHARED_DEFAULT)}


def text_in(client, body: str, to: str, sid: str = "SM" + "c" * 32) -> str:
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
              "From": REMOTE, "To": to, "Body": body, "NumMedia": "0"}
    response = post_signed(client, "/telephony/hooks/sms", params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_second_organization_cannot_claim_a_number_and_is_told_why(client, factories):
    first, _ = factories.org_with_admin()
    first.campaign_number = NUMBER
    db.session.commit()
    second, admin = factories.org_with_admin()
    login(client, admin)
    response = post_form(client, "/telephony/", {"campaign_number": NUMBER,
                                                 "help_text": "Our help"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Another organization on this Ringround already uses this number." in html
    assert 'value="Our help"' in html  # nothing typed is lost
    db.session.refresh(second)
    assert second.campaign_number is None and second.help_text is None


def test_the_shared_default_number_cannot_be_claimed(client, factories):
    _, admin = factories.org_with_admin()
    login(client, admin)
    html = post_form(client, "/telephony/", {"campaign_number": SHARED_DEFAULT}
                     ).get_data(as_text=True)
    assert "shared default number" in html


def test_an_organization_keeps_and_saves_its_own_number(client, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    for _ in range(2):  # saving the same number again is fine
        response = post_form(client, "/telephony/", {"campaign_number": NUMBER})
        assert response.status_code == 302
    db.session.refresh(org)
    assert org.campaign_number == NUMBER


def test_the_database_refuses_two_organizations_with_one_number(any_app):
    db.session.add_all([Organization(slug=f"o{n}", name=f"O{n}", campaign_number=NUMBER)
                        for n in (1, 2)])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_number_left_on_operations_of_two_organizations_goes_to_the_senders_and_stop_reaches_both(
        client, factories):
    first, admin_a = factories.org_with_admin()
    second, admin_b = factories.org_with_admin()
    factories.operation(first, admin_a, campaign_number=NUMBER)
    factories.operation(second, admin_b, campaign_number=NUMBER)  # newer: it used to win
    person = factories.contact(first, phone=REMOTE)
    text_in(client, "STOP", NUMBER)
    assert is_opted_out(db.session, first.id, REMOTE)
    assert is_opted_out(db.session, second.id, REMOTE)
    db.session.refresh(person)
    assert person.do_not_contact


def test_stop_to_the_shared_default_number_from_a_stranger_reaches_every_organization_on_it(
        client, factories):
    first, _ = factories.org_with_admin()
    second, _ = factories.org_with_admin()
    own, _ = factories.org_with_admin()
    own.campaign_number = NUMBER
    db.session.commit()
    reply = text_in(client, "STOP", SHARED_DEFAULT)
    assert "no more calls or texts" in reply
    assert is_opted_out(db.session, first.id, REMOTE)
    assert is_opted_out(db.session, second.id, REMOTE)
    assert not is_opted_out(db.session, own.id, REMOTE)  # never texts from that number


def test_stop_to_an_organizations_own_number_stays_with_it(client, factories):
    mine, _ = factories.org_with_admin()
    mine.campaign_number = NUMBER
    other, _ = factories.org_with_admin()
    other.campaign_number = "+14155550199"
    db.session.commit()
    factories.contact(other, phone=REMOTE)
    text_in(client, "STOP", NUMBER)
    assert is_opted_out(db.session, mine.id, REMOTE)
    assert not is_opted_out(db.session, other.id, REMOTE)


def test_start_lifts_only_the_routed_organizations_opt_out(client, factories):
    first, admin_a = factories.org_with_admin()
    second, admin_b = factories.org_with_admin()
    factories.contact(first, phone=REMOTE)
    text_in(client, "STOP", SHARED_DEFAULT, sid="SM" + "d" * 32)
    assert is_opted_out(db.session, second.id, REMOTE)
    text_in(client, "START", SHARED_DEFAULT, sid="SM" + "e" * 32)
    assert not is_opted_out(db.session, first.id, REMOTE)  # the sender's organization
    assert is_opted_out(db.session, second.id, REMOTE)


def test_pressing_9_on_the_shared_default_number_reaches_every_organization_calling_from_it(
        client, factories):
    """A call back to the shared default number: the contact's organization answers, and the
    opt-out also reaches the other organizations that call from that number."""
    first, _ = factories.org_with_admin()
    second, _ = factories.org_with_admin()
    own, _ = factories.org_with_admin()
    own.campaign_number = NUMBER
    db.session.commit()
    factories.contact(first, phone=REMOTE)
    params = {"CallSid": "CA" + "9" * 32, "AccountSid": "AC" + "0" * 32, "From": REMOTE,
              "To": SHARED_DEFAULT, "CallStatus": "in-progress", "Digits": "9"}
    response = post_signed(client, "/telephony/hooks/voice/caller/choice?tries=0", params)
    assert "no more calls or texts" in response.get_data(as_text=True)
    assert is_opted_out(db.session, first.id, REMOTE)
    assert is_opted_out(db.session, second.id, REMOTE)
    assert not is_opted_out(db.session, own.id, REMOTE)  # never calls from that number
