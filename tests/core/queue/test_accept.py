"""accept_result and accept_edit: who may send a result, and once only."""

import secrets
from datetime import time, timedelta

import pytest

from ringround.extensions import db
from ringround.models import Attempt, Target, utcnow
from ringround.queue import EDIT_WINDOW, lease_next
from ringround.queue.accept import accept_edit, accept_result, lease_proof

KEY = secrets.token_bytes(32)


def _payload(target_id, client_id="result-0001", **extra):
    return {"client_id": client_id, "target_id": target_id, "disposition": "no_answer", **extra}


@pytest.fixture
def called(world):
    """An operation running now, all day (leases are judged on the real clock), one person
    leased to an agent; another agent without a lease."""
    person = world.contact("Held")
    op = world.operation([person], now=utcnow(), window_start=time(0, 1), window_end=time(0, 0))
    agent, stranger = world.agent(operation=op), world.agent("Stranger", operation=op)
    lease = lease_next(db.session, op, agent)
    db.session.commit()
    assert lease is not None
    return op, agent, stranger, lease.target_id


def test_a_result_for_a_person_never_given_is_refused_and_nothing_is_stored(world):
    person = world.contact("Never given")
    op = world.operation([person])
    agent = world.agent(operation=op)
    target_id = db.session.query(Target).filter_by(contact_id=person.id).one().id
    accepted = accept_result(db.session, operation=op, agent_id=agent.id,
                             payload=_payload(target_id), proof_key=KEY)
    db.session.rollback()
    assert not accepted.accepted
    assert accepted.refusal == "That person was not given to you to call."
    assert db.session.query(Attempt).count() == 0


def test_the_lease_holder_is_accepted_once_and_a_resend_changes_nothing(called):
    op, agent, _stranger, target_id = called
    first = accept_result(db.session, operation=op, agent_id=agent.id,
                          payload=_payload(target_id), proof_key=KEY)
    db.session.commit()
    again = accept_result(db.session, operation=op, agent_id=agent.id,
                          payload=_payload(target_id), proof_key=KEY)
    db.session.commit()
    assert first.accepted and not first.outcome.duplicate
    assert again.accepted and again.outcome.duplicate
    assert db.session.query(Attempt).count() == 1


def test_a_stranger_with_someone_elses_proof_is_refused(called):
    op, agent, stranger, target_id = called
    proof = lease_proof(KEY, agent.id, op.id, target_id)
    accepted = accept_result(db.session, operation=op, agent_id=stranger.id,
                             payload=_payload(target_id, lease_proof=proof), proof_key=KEY)
    db.session.rollback()
    assert accepted.refusal == "That person was not given to you to call."
    assert db.session.query(Attempt).count() == 0


def test_an_edit_is_taken_within_the_edit_window_only(called):
    op, agent, _stranger, target_id = called
    accept_result(db.session, operation=op, agent_id=agent.id, payload=_payload(target_id),
                  proof_key=KEY)
    db.session.commit()
    recorded = db.session.query(Attempt).one().recorded_at
    change = {"result_client_id": "result-0001", "disposition": "busy"}
    late = accept_edit(db.session, operation=op, agent_id=agent.id, payload=change,
                       now=recorded + EDIT_WINDOW + timedelta(seconds=1))
    db.session.rollback()
    assert not late.accepted
    taken = accept_edit(db.session, operation=op, agent_id=agent.id, payload=change,
                        now=recorded + EDIT_WINDOW - timedelta(seconds=1))
    db.session.commit()
    assert taken.accepted and taken.outcome.disposition == "busy"
