"""The follow-up and help-text editors show encoding, segments and cost as one types."""

from __future__ import annotations

import pytest

from tests.telephony.conftest import CAMPAIGN


@pytest.fixture
def organizer(client, factories):
    org, admin = factories.org_with_admin()
    org.campaign_number = CAMPAIGN
    factories.login(client, admin)
    return admin


def measure(client, **args):
    response = client.get("/telephony/segments", query_string=args,
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def test_a_name_outside_gsm7_turns_a_follow_up_into_ucs2(client, organizer):
    text = measure(client, body="Hi {first_name}, the rally is on Saturday at 10. - {agent_name}")
    assert "With a name like Maria: GSM-7 · 1 segment · costs 1× one text" in text
    assert "With a name like Aïcha: UCS-2 · 1 segment" in text


def test_zoe_and_a_long_text_warn_over_two_segments(client, organizer):
    text = measure(client, body="Zoë, " + "x" * 140)
    assert "UCS-2 · 3 segments · costs 3× one text" in text
    assert "over 2 segments" in text
    assert "GSM-7 · 2 segments" in measure(client, help_text="é" * 200)


def test_the_editors_ask_as_one_types(client, organizer):
    page = client.get("/telephony/").get_data(as_text=True)
    assert page.count('hx-get="/telephony/segments"') == 2
    assert 'id="followup-segments"' in page and 'id="help-text-segments"' in page
