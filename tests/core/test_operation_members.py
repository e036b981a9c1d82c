"""The membership rule (`entry_for`, `admit`) and who manages an operation (`standing_in`)."""

from __future__ import annotations

import pytest

from ringround.models import OperationMember, OperationRole
from ringround.operation_members import (
    Entry,
    Standing,
    admit,
    entry_for,
    remove_member,
    standing_in,
)

AGENT, OWNER = OperationRole.AGENT, OperationRole.OWNER


@pytest.mark.parametrize(("current", "removed", "role", "by_manager", "expected"), [
    (None, False, AGENT, False, Entry.ADD),
    (None, True, AGENT, False, Entry.REFUSE),  # a link never lets a removed person back
    (None, True, AGENT, True, Entry.ADD),  # an organizer or owner does
    (AGENT, False, OWNER, False, Entry.PROMOTE),  # an owner link raises an agent
    (OWNER, False, AGENT, False, Entry.KEEP),  # a link never lowers a role
    (AGENT, False, AGENT, False, Entry.KEEP),
    (AGENT, False, OWNER, True, Entry.KEEP),  # managers change roles with update_member
])
def test_entry_for_decides_who_comes_in_and_as_what(current, removed, role, by_manager,
                                                    expected):
    assert entry_for(current, removed, role, by_manager=by_manager) is expected


def test_a_removed_person_comes_back_only_when_a_manager_admits_them(db, factories):
    org, admin = factories.org_with_admin()
    operation = factories.operation(org, owner=admin)
    volunteer = factories.phone_user()
    member = admit(db.session, operation, volunteer.id, AGENT).member
    remove_member(db.session, operation, admin, member.id)
    refused = admit(db.session, operation, volunteer.id, AGENT, via_link_id=None)
    assert refused.entry is Entry.REFUSE and refused.member is None
    back = admit(db.session, operation, volunteer.id, AGENT, manager=admin)
    assert back.entry is Entry.ADD
    assert admit(db.session, operation, volunteer.id, AGENT).entry is Entry.KEEP
    assert [m.user_id for m in operation.members].count(volunteer.id) == 1


def test_before_change_runs_only_when_a_membership_is_made_or_raised(db, factories):
    org, admin = factories.org_with_admin()
    operation = factories.operation(org, owner=admin)
    volunteer = factories.phone_user()
    calls = []
    for role in (AGENT, AGENT, OWNER, OWNER):
        admit(db.session, operation, volunteer.id, role, before_change=lambda: calls.append(1))
    assert len(calls) == 2
    assert db.session.get(OperationMember, admit(
        db.session, operation, volunteer.id, AGENT).member.id).role is OWNER


def test_standing_says_who_manages_an_operation(db, factories):
    org, admin = factories.org_with_admin()
    owner_user, agent_user, outsider = (factories.phone_user(f"P{i}") for i in range(3))
    organizer = factories.organizer(org, admin)
    operation = factories.operation(org, owner=admin)
    admit(db.session, operation, owner_user.id, OWNER)
    admit(db.session, operation, agent_user.id, AGENT)
    db.session.commit()
    standings = {user.id: standing_in(db.session, operation, user)
                 for user in (admin, organizer, owner_user, agent_user, outsider)}
    assert standings == {admin.id: Standing.ORGANIZER, organizer.id: Standing.ORGANIZER,
                         owner_user.id: Standing.OWNER, agent_user.id: Standing.AGENT,
                         outsider.id: Standing.OUTSIDER}
    assert [s.manages for s in standings.values()] == [True, True, True, False, False]
