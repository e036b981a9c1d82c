"""Words shown to organizers: capitalised labels for the queue's reasons, and nothing about
the campaign line when an operation does not use it."""

from __future__ import annotations

import re

from ringround import queue
from ringround.extensions import db
from ringround.models import OperationRole, User
from ringround.queue.reasons import REASON_LABELS, REASONS, reason_label
from tests.caller_fixtures import calling_operation
from tests.conftest import post_form
from tests.factories import login


def _owner(op) -> User:
    return db.session.get(User, next(m.user_id for m in op.members
                                     if m.role is OperationRole.OWNER))


def test_the_dashboard_names_every_reason_with_a_capitalised_label(client, app):
    op, agent, _ = calling_operation(n=3)
    lease = queue.lease_next(db.session, op, agent)
    queue.release_target(db.session, lease.target_id, agent, "skip")
    db.session.commit()
    login(client, _owner(op))
    html = client.get(f"/console/operations/{op.id}/figures").get_data(as_text=True)
    rows = re.findall(r'<th scope="row">([^<]*)</th>', html)
    assert "Skipped by a caller, back soon" in rows
    assert rows and all(label[:1].isupper() for label in rows), rows
    # Every reason the queue reports has its own label (no raw code shown), and one it does
    # not know yet is named as such.
    assert set(REASON_LABELS) == set(REASONS)
    assert reason_label("some_new_reason") == "Not callable for another reason"


def test_campaign_line_statuses_are_hidden_while_the_line_is_off(client, app):
    op, _, _ = calling_operation(n=1)
    op.allow_campaign_line = False
    op.retry_rules = {**(op.retry_rules or {}),
                      "auto_busy": {"retries": 2, "interval_minutes": 30}}
    db.session.commit()
    login(client, _owner(op))
    url = f"/console/operations/{op.id}/steps"
    page = client.get(f"{url}/recycling").get_data(as_text=True)
    assert "campaign line" not in page and "(automatic)" not in page
    assert "(automatic)" not in client.get(f"{url}/review").get_data(as_text=True)
    # Saving the step keeps the hidden statuses' rules for when the line is turned on.
    post_form(client, f"{url}/recycling", {"action": "next"})
    db.session.expire_all()
    assert op.retry_rules["auto_busy"] == {"retries": 2, "interval_minutes": 30}
    op.allow_campaign_line = True
    db.session.commit()
    page = client.get(f"{url}/recycling").get_data(as_text=True)
    assert "Automatic statuses from the campaign line" in page and "(automatic)" in page
