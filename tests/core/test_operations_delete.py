"""Deleting a draft operation, on SQLite and PostgreSQL: only drafts, only organizers and
admins, audited; its members and join links go with it."""

import pytest
from sqlalchemy import func, select

from ringround import operations as ops
from ringround.extensions import db
from ringround.models import (
    AuditEntry,
    JoinLink,
    Operation,
    OperationMember,
    OperationRole,
    OperationState,
)
from tests import factories


def draft_with_a_link():
    org, admin = factories.org_with_admin()
    op = ops.create_draft(db.session, org.id, admin, "Draft")
    db.session.add(JoinLink(organization_id=org.id, operation=op, token_hash="h" * 64,
                            token_sealed="s" * 64))
    db.session.commit()
    return org, admin, op


def count(model, **where):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_a_draft_is_deleted_with_its_members_and_links(any_app):
    org, admin, op = draft_with_a_link()
    op_id = op.id
    ops.delete_draft(db.session, op, admin)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Operation, op_id) is None
    assert count(OperationMember, operation_id=op_id) == 0
    assert count(JoinLink, operation_id=op_id) == 0
    entry = db.session.scalars(select(AuditEntry).filter_by(action="operation.deleted")).one()
    assert (entry.subject_id, entry.actor_id, entry.details) == (op_id, admin.id,
                                                                {"name": "Draft"})


@pytest.mark.parametrize("state", [OperationState.ACTIVE, OperationState.PAUSED,
                                   OperationState.ENDED])
def test_only_drafts_are_deleted(any_app, state):
    org, admin, op = draft_with_a_link()
    op.state = state
    with pytest.raises(ops.OperationError, match="pause or end"):
        ops.delete_draft(db.session, op, admin)


def test_an_owner_who_is_not_an_organizer_cannot_delete(any_app):
    org, admin, op = draft_with_a_link()
    owner = factories.phone_user("Owner")
    op.members.append(OperationMember(user_id=owner.id, role=OperationRole.OWNER))
    db.session.commit()
    assert ops.can_manage(db.session, op, owner)
    assert not ops.can_delete(db.session, op, owner)
    with pytest.raises(ops.OperationError, match="admins and organizers"):
        ops.delete_draft(db.session, op, owner)
    organizer = factories.organizer(org, admin)
    assert ops.can_delete(db.session, op, organizer)
