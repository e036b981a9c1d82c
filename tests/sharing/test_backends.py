"""Join links and sign-ups on SQLite and PostgreSQL, including two people racing for the
last use of a capped link from two connections."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.enrollment import EnrollmentError, create_join_link, enroll
from ringround.extensions import db
from ringround.models import Contact, JoinLink, OperationMember, Target, User
from ringround.signup_forms import submit_signup
from tests import factories
from tests.sharing.conftest import build_world


def test_capped_link_gives_its_last_use_to_exactly_one_of_two_racers(any_app):
    world = build_world()
    link, _token = create_join_link(db.session, org=world.org, actor=world.owner,
                                    operation=world.operation, max_uses=1)
    racers = [factories.phone_user("Racer").id for _ in range(2)]
    db.session.commit()
    link_id = link.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(user_id: int) -> None:
        with any_app.app_context(), Session(db.engine) as session:
            mine = session.get(JoinLink, link_id)
            user = session.get(User, user_id)
            barrier.wait()
            try:
                enroll(session, mine, user)
                session.commit()
                outcomes.append("joined")
            except EnrollmentError:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=race, args=(user_id,)) for user_id in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.expire_all()
    assert sorted(outcomes) == ["joined", "refused"]
    assert db.session.get(JoinLink, link_id).uses == 1
    assert len(db.session.scalars(select(OperationMember).where(
        OperationMember.user_id.in_(racers))).all()) == 1


def test_a_sign_up_is_stored_with_consent_and_target(any_app):
    world = build_world()
    contact = submit_signup(db.session, world.form, {"first_name": "Ana",
                                                     "phone": "+12025550111"})
    db.session.commit()
    stored = db.session.get(Contact, contact.id)
    assert stored.consents[0].source == f"form:{world.form.id}"
    assert db.session.scalar(select(Target.operation_id).where(
        Target.contact_id == contact.id)) == world.operation.id
