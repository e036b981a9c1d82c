"""The simulator page shows each organization only its own traffic, also on the shared default
number that several organizations without a number of their own text from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ringround.config import TelephonySettings
from ringround.extensions import db
from ringround.models import SimText
from sms.outbound import send_text
from tests.conftest import post_form
from tests.factories import login
from tests.telephony.conftest import PUBLIC

SHARED_DEFAULT = "+15005550006"
SIM = "/telephony/simulator/"
AFTERNOON = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 15:00 in Boston


@pytest.fixture
def app_overrides():
    return {"PUBLIC_BASE_URL": PUBLIC,
            "TELEPHONY": TelephonySettings("simulator", None, None, SHARED_DEFAULT)}


@pytest.fixture
def two_orgs_on_the_default_number(app, factories):
    """Two organizations without their own number; the first texts one of its contacts."""
    first, first_admin = factories.org_with_admin()
    second, second_admin = factories.org_with_admin()
    person = factories.contact(first, phone="+16175550142")
    send_text(db.session, first, "+16175550142", "Rally at the library on Saturday",
              kind="followup", contact=person, now=AFTERNOON)
    db.session.commit()
    return first_admin, second_admin


def test_another_organization_on_the_default_number_does_not_see_the_texts(
        app, client, two_orgs_on_the_default_number):
    first_admin, second_admin = two_orgs_on_the_default_number
    login(client, second_admin)
    page = client.get(SIM).get_data(as_text=True)
    assert "Rally at the library" not in page and "+16175550142" not in page
    sent = db.session.scalar(select(SimText))
    response = post_form(client, f"{SIM}texts/{sent.sid}/unsubscribed", {}, page=SIM)
    assert response.status_code == 404
    mine = app.test_client()
    login(mine, first_admin)
    assert "Rally at the library" in mine.get(SIM).get_data(as_text=True)


def test_a_reply_on_the_default_number_is_seen_by_the_senders_organization_only(
        app, client, two_orgs_on_the_default_number):
    first_admin, second_admin = two_orgs_on_the_default_number
    mine = app.test_client()
    login(mine, first_admin)
    post_form(mine, SIM + "texts", {"text-phone": "+16175550142",
                                    "text-number": SHARED_DEFAULT,
                                    "text-body": "Which library?"}, page=SIM)
    assert "Which library?" in mine.get(SIM).get_data(as_text=True)
    login(client, second_admin)
    assert "Which library?" not in client.get(SIM).get_data(as_text=True)


def test_an_organization_alone_on_the_default_number_sees_all_its_traffic(app, client,
                                                                          factories):
    _, admin = factories.org_with_admin()
    login(client, admin)
    post_form(client, SIM + "texts", {"text-phone": "+16175550977",
                                      "text-number": SHARED_DEFAULT,
                                      "text-body": "Hello there"}, page=SIM)
    assert "Hello there" in client.get(SIM).get_data(as_text=True)
