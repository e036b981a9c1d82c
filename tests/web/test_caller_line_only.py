"""An operation that calls through the campaign line only: no number leaves the server.

The wizard promises "numbers stay hidden" and docs/telephony.md "Neither side sees the other's
number": no card (HTML, the phone's JSON, the sync answer) shows the number or a `tel:` link,
and nobody can be taken for offline calling. With the caller's own phone allowed, unchanged.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from ringround.extensions import db
from ringround.models import Target, TargetState, utcnow
from tests.caller_fixtures import calling_operation, sign_in
from tests.conftest import csrf_token_from

# Numbers with digits that appear nowhere else on a card; each has an extension.
NUMBERS = ("+33647935821", "+33647935832", "+33647935843")
EXTENSION = "8642"


def _digits_of(e164: str) -> re.Pattern[str]:
    """Any writing of the number's last six digits (grouped, spaced, dotted...) or of the
    extension."""
    tail = r"\D{0,3}".join(e164[-6:])
    return re.compile(f"{tail}|{r'[^0-9]{0,3}'.join(EXTENSION)}")


def _line_only_operation(own_phone: bool = False, campaign_line: bool = True, n: int = 3):
    op, agent, contacts = calling_operation(n=n, allow_own_phone=own_phone,
                                            allow_campaign_line=campaign_line)
    for person, number in zip(contacts, NUMBERS, strict=False):
        person.phones[0].e164, person.phones[0].extension = number, EXTENSION
    db.session.commit()
    return op, agent, contacts


def _assert_no_number(text: str) -> None:
    assert "tel:" not in text
    for number in NUMBERS:
        assert not _digits_of(number).search(text), number


def _post(client, url: str, payload: dict, html: str):
    return client.post(url, data=json.dumps(payload), content_type="application/json",
                       headers={"X-CSRFToken": csrf_token_from(html)})


def _result(lease: dict) -> dict:
    html = lease["card_html"]
    return {"kind": "result", "target_id": lease["target_id"], "disposition": "no_answer",
            "client_id": str(uuid.uuid4()),
            "lease_proof": re.search(r'name="lease_proof" value="([^"]+)"', html).group(1),
            "answers": {}, "notes": "", "field_updates": {}, "method": "bridged",
            "ended_at": utcnow().isoformat()}


def test_the_card_shows_no_number_and_only_the_campaign_line(client, app):
    op, agent, _contacts = _line_only_operation()
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    assert "Person" in html and "Call through the campaign line" in html
    assert "call-button" not in html
    _assert_no_number(html)
    # The htmx card (Check again, the page's own reload) neither.
    card = client.get(f"/call/{op.id}/card", headers={"HX-Request": "true"})
    assert "Call through the campaign line" in card.get_data(as_text=True)
    _assert_no_number(card.get_data(as_text=True))


def test_the_phones_json_cards_show_no_number(client, app):
    op, agent, _contacts = _line_only_operation()
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    first = _post(client, f"/api/call/{op.id}/next", {}, html)
    assert first.status_code == 200 and first.get_json()["lease"]["card_html"]
    _assert_no_number(first.get_data(as_text=True))
    # The sync answer that carries the next card.
    answer = _post(client, f"/api/call/{op.id}/sync",
                   {"entries": [_result(first.get_json()["lease"])], "next": True}, html)
    body = answer.get_json()
    assert body["accepted"] and body["next"]["lease"]["target_id"] != \
        first.get_json()["lease"]["target_id"]
    assert "Call through the campaign line" in body["next"]["lease"]["card_html"]
    _assert_no_number(answer.get_data(as_text=True))


def test_nobody_is_taken_for_offline_calling(client, app):
    op, agent, _contacts = _line_only_operation()
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    # The page offers no batch; offline it says calls need the line.
    assert 'class="take-batch' not in html and 'data-line-only="1"' in html
    assert "Calls in this operation go through the campaign line" in html
    response = _post(client, f"/api/call/{op.id}/batch", {"n": 3}, html)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "line_only" and body["leases"] == []
    assert "campaign line only" in body["error"]
    _assert_no_number(response.get_data(as_text=True))
    # Nothing more was leased than the open card.
    leased = db.session.scalars(db.select(Target).where(
        Target.operation_id == op.id, Target.state == TargetState.LEASED)).all()
    assert len(leased) == 1


@pytest.mark.parametrize("campaign_line", [True, False])
def test_with_the_callers_own_phone_the_card_still_dials(client, app, campaign_line):
    op, agent, _contacts = _line_only_operation(own_phone=True, campaign_line=campaign_line)
    sign_in(client, agent)
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    href = re.search(r'call-button" href="(tel:[^"]+)"', html).group(1)
    assert href.startswith("tel:+336479358") and href.endswith(f",{EXTENSION}")
    assert ("Call through the campaign line" in html) is campaign_line
    assert 'class="take-batch' in html and "data-line-only" not in html
    batch = _post(client, f"/api/call/{op.id}/batch", {"n": 3}, html)
    assert batch.status_code == 200 and len(batch.get_json()["leases"]) == 3
    assert all("tel:+336479358" in row["card_html"] for row in batch.get_json()["leases"])
