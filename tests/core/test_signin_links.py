"""Personal sign-in links and removals in the core, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ringround import operations as ops
from ringround.enrollment import EnrollmentError, RemovedError, create_join_link, enroll
from ringround.extensions import db
from ringround.models import OperationMember, OperationRemoval, OperationRole, utcnow
from ringround.signin_links import create_signin_link, use_signin_link
from tests import factories


@pytest.fixture
def setting(any_app):
    org, admin = factories.org_with_admin()
    operation = factories.operation(org, admin, name="Calls")
    volunteer = factories.phone_user("Vol")
    member = OperationMember(operation_id=operation.id, user_id=volunteer.id,
                             role=OperationRole.AGENT)
    db.session.add(member)
    db.session.commit()
    return org, admin, operation, volunteer, member


def test_a_sign_in_link_is_used_once_and_then_never_again(setting):
    _org, admin, operation, volunteer, _member = setting
    _link, token = create_signin_link(db.session, actor=admin, user=volunteer,
                                      operation=operation)
    db.session.commit()
    signed_in = use_signin_link(db.session, token)
    db.session.commit()
    assert signed_in is not None and signed_in.user.id == volunteer.id
    assert use_signin_link(db.session, token) is None
    assert use_signin_link(db.session, token, now=utcnow() - timedelta(minutes=1)) is None


def test_a_sign_in_link_is_refused_after_its_hour(setting):
    _org, admin, operation, volunteer, _member = setting
    _link, token = create_signin_link(db.session, actor=admin, user=volunteer,
                                      operation=operation)
    db.session.commit()
    assert use_signin_link(db.session, token, now=utcnow() + timedelta(hours=1, seconds=1)) \
        is None


def test_an_agent_cannot_make_a_sign_in_link(setting):
    org, admin, operation, volunteer, _member = setting
    other = factories.phone_user("Other")
    db.session.add(OperationMember(operation_id=operation.id, user_id=other.id))
    db.session.commit()
    with pytest.raises(EnrollmentError):
        create_signin_link(db.session, actor=other, user=volunteer, operation=operation)


def test_a_removal_holds_against_every_link_until_added_back(setting):
    org, admin, operation, volunteer, member = setting
    link, _token = create_join_link(db.session, org=org, actor=admin, operation=operation,
                                    role="owner")
    ops.remove_member(db.session, operation, admin, member.id)
    db.session.commit()
    assert db.session.scalar(select(OperationRemoval.removed_by_id)) == admin.id
    with pytest.raises(RemovedError):
        enroll(db.session, link, volunteer)
    db.session.rollback()
    ops.add_member(db.session, operation, admin, user_id=volunteer.id, role="agent")
    db.session.commit()
    assert db.session.scalar(select(OperationRemoval.id)) is None
    assert enroll(db.session, link, volunteer).role.value == "owner"
