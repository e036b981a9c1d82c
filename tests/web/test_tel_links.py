"""The call button's `tel:` link dials a number's extension too (online and offline cards)."""

from __future__ import annotations

import json
import re

from ringround.extensions import db
from tests.caller_fixtures import calling_operation, sign_in
from tests.conftest import csrf_token_from


def _with_extensions(contacts, extension: str = "744") -> None:
    for person in contacts:
        person.phones[0].extension = extension
    db.session.commit()


def test_the_call_link_dials_the_extension_after_a_pause(client, app):
    op, agent, contacts = calling_operation(n=2)
    _with_extensions(contacts)
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    href = re.search(r'class="button primary big call-button" href="([^"]+)"', html).group(1)
    numbers = {person.phones[0].e164 for person in contacts}
    assert re.fullmatch(r"tel:\+\d{8,15},744", href) and href[4:-4] in numbers
    assert "ext. 744" in html  # the caller sees it too


def test_offline_cards_dial_the_extension_and_numbers_without_one_stay_plain(client, app):
    op, agent, contacts = calling_operation(n=3)
    _with_extensions(contacts[:2])
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    response = client.post(f"/api/call/{op.id}/batch", data=json.dumps({"n": 3}),
                           content_type="application/json",
                           headers={"X-CSRFToken": csrf_token_from(html)})
    hrefs = sorted(re.search(r'call-button" href="([^"]+)"', row["card_html"]).group(1)
                   for row in response.get_json()["leases"])
    assert hrefs == sorted([f"tel:{contacts[0].phones[0].e164},744",
                            f"tel:{contacts[1].phones[0].e164},744",
                            f"tel:{contacts[2].phones[0].e164}"])


def test_the_caller_reads_the_number_in_groups_and_dials_it_whole(client, app):
    op, agent, contacts = calling_operation(n=1)
    contacts[0].phones[0].e164 = "+33612345678"
    db.session.commit()
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    assert 'href="tel:+33612345678"' in html
    shown = re.search(r'<span class="call-number">([^<]+)</span>', html).group(1)
    assert shown == "+33 6 12 34 56 78"
