"""Leases: expiry, skip and return, renewal, batches, the per-agent cap; materializing targets."""

from datetime import UTC, timedelta

import pytest

from ringround.extensions import db
from ringround.models import Organization, SavedList, Target, TargetState
from ringround.queue import (
    OFFLINE_LEASE_MINUTES,
    expire_leases,
    held_leases,
    lease_batch,
    lease_next,
    materialize_targets,
    release_target,
    renew_leases,
    return_batch,
)
from tests.core.queue.conftest import NOW


def state_of(target_id):
    db.session.expire_all()
    return db.session.get(Target, target_id).state


@pytest.fixture
def three(world):
    people = [world.contact(f"P{i}") for i in range(3)]
    op = world.operation(people)
    return op, world.agent(operation=op)


def test_a_lease_expires_by_itself(three, world):
    op, agent = three
    lease = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    assert lease.expires_at == NOW + timedelta(minutes=20)
    assert state_of(lease.target_id) == TargetState.LEASED
    assert expire_leases(db.session, now=NOW + timedelta(minutes=19)) == 0
    assert expire_leases(db.session, now=NOW + timedelta(minutes=20)) == 1
    db.session.commit()
    assert state_of(lease.target_id) == TargetState.WAITING


def test_expired_leases_are_swept_when_leasing(world):
    person = world.contact()
    op = world.operation([person])
    agent, colleague = world.agent(operation=op), world.agent(operation=op)
    first = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    assert lease_next(db.session, op, colleague, now=NOW + timedelta(minutes=5)) is None
    db.session.commit()
    again = lease_next(db.session, op, colleague, now=NOW + timedelta(minutes=21))
    assert again.target_id == first.target_id


def test_skip_puts_the_target_aside_for_a_while(three):
    op, agent = three
    lease = lease_next(db.session, op, agent, now=NOW)
    assert release_target(db.session, lease.target_id, agent, "skip", now=NOW)
    db.session.commit()
    assert state_of(lease.target_id) == TargetState.WAITING
    others = lease_batch(db.session, op, agent, 5, now=NOW)
    assert lease.target_id not in [o.target_id for o in others] and len(others) == 2


def test_release_refuses_someone_elses_lease(three, world):
    op, agent = three
    lease = lease_next(db.session, op, agent, now=NOW)
    stranger = world.agent(operation=op)
    assert not release_target(db.session, lease.target_id, stranger, "return", now=NOW)
    assert release_target(db.session, lease.target_id, agent, "return", now=NOW)
    db.session.commit()
    again = lease_next(db.session, op, agent, now=NOW)
    assert again.target_id == lease.target_id  # returned, not skipped: first in line again


def test_an_offline_batch_has_a_long_lease_and_can_be_returned(three):
    op, agent = three
    batch = lease_batch(db.session, op, agent, 10, now=NOW)
    db.session.commit()
    assert len(batch) == 3
    assert {b.expires_at for b in batch} == {NOW + timedelta(minutes=OFFLINE_LEASE_MINUTES)}
    assert len({b.target_id for b in batch}) == 3
    assert return_batch(db.session, op, agent, [batch[0].target_id]) == 1
    assert return_batch(db.session, op, agent) == 2
    db.session.commit()
    assert all(state_of(b.target_id) == TargetState.WAITING for b in batch)


def test_renewing_extends_unexpired_leases(three):
    op, agent = three
    lease = lease_next(db.session, op, agent, now=NOW)
    later = NOW + timedelta(minutes=15)
    assert renew_leases(db.session, op, agent, now=later) == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Target, lease.target_id).lease_expires_at == later + timedelta(
        minutes=20)


def test_an_agent_holds_a_few_leases_at_most(three):
    op, agent = three
    first = lease_next(db.session, op, agent, now=NOW)
    second = lease_next(db.session, op, agent, now=NOW)
    assert first.target_id != second.target_id
    third = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    assert third.target_id == first.target_id  # the oldest held lease again, not a new one
    held = held_leases(db.session, op, agent, now=NOW)
    assert [h.target_id for h in held] == [first.target_id, second.target_id]
    assert held[0].phone_e164.startswith("+1")


def test_a_lease_names_the_number_to_dial(world):
    person = world.contact("Two", phones=2)
    op = world.operation([person])
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW)
    assert (lease.contact_id, lease.phone_e164) == (person.id, person.phones[0].e164)
    assert lease.expires_at.tzinfo is not None


def test_materialize_is_idempotent_and_adds_new_matches(world):
    first = world.contact("First")
    op = world.operation()
    assert materialize_targets(db.session, op, [first.id], now=NOW) == 1
    assert materialize_targets(db.session, op, [first.id], now=NOW) == 0
    second = world.contact("Second", time_zone="Europe/Paris")
    assert materialize_targets(db.session, op, [first.id, second.id], now=NOW) == 1
    db.session.commit()
    db.session.refresh(op)
    zones = {t.contact_id: t.time_zone for t in db.session.query(Target)}
    assert zones == {first.id: "America/New_York", second.id: "Europe/Paris"}
    assert op.time_zones == ["America/New_York", "Europe/Paris"]


def test_materialize_ignores_other_organizations_contacts(world, factories):
    other_org, _ = factories.org_with_admin()
    stranger = factories.contact(other_org)
    op = world.operation()
    assert materialize_targets(db.session, op, [stranger.id], now=NOW) == 0


def test_unknown_or_missing_zones_fall_back_to_the_organizations(world):
    org = db.session.get(Organization, world.org.id)
    org.time_zone = "Europe/Stockholm"
    db.session.commit()
    odd = world.contact("Odd", time_zone="Mars/Olympus")
    none = world.contact("None", time_zone=None)
    op = world.operation([odd, none])
    assert {t.time_zone for t in db.session.query(Target)} == {"Europe/Stockholm"}
    assert op.time_zones == ["Europe/Stockholm"]


def test_materialize_from_the_whole_organization_when_the_source_is_empty(world):
    people = [world.contact(f"P{i}") for i in range(4)]
    op = world.operation()
    assert materialize_targets(db.session, op, now=NOW) == len(people)


def test_materialize_uses_the_saved_list_filter(world, monkeypatch):
    keep = world.contact("Keep")
    world.contact("Drop")
    saved = SavedList(organization_id=world.org.id, name="Only keep", filter={"ids": [keep.id]})
    db.session.add(saved)
    db.session.commit()
    op = world.operation(source_list_id=saved.id)

    import types

    from sqlalchemy import select

    from ringround.models import Contact

    def contact_ids_select(org_id, flt):
        return select(Contact.id).where(Contact.organization_id == org_id,
                                        Contact.id.in_(flt["ids"]))

    fake = types.ModuleType("ringround.people.filters")
    fake.contact_ids_select = contact_ids_select
    monkeypatch.setitem(__import__("sys").modules, "ringround.people.filters", fake)
    assert materialize_targets(db.session, op, now=NOW) == 1
    assert db.session.query(Target).one().contact_id == keep.id


def test_materialize_for_given_contacts_keeps_to_the_operations_source(world):
    member = world.contact("Member", tags=["members"])
    other = world.contact("Other")
    op = world.operation(source_filter={"tags_any": ["members"]})
    assert materialize_targets(db.session, op, [member.id, other.id], now=NOW) == 1
    assert db.session.query(Target).one().contact_id == member.id


def test_now_must_be_aware(three):
    op, agent = three
    with pytest.raises(ValueError):
        lease_next(db.session, op, agent, now=NOW.replace(tzinfo=None))
    assert NOW.tzinfo is UTC


def test_refresh_adds_new_contacts_to_running_operations(world):
    from ringround.models import OperationState
    from ringround.queue import refresh_operations

    first = world.contact("First")
    running = world.operation([first])
    draft = world.operation(name="Draft", state=OperationState.DRAFT)
    world.contact("Newcomer")
    assert refresh_operations(db.session, world.org.id, now=NOW) == 1
    db.session.commit()
    assert db.session.query(Target).filter_by(operation_id=running.id).count() == 2
    assert db.session.query(Target).filter_by(operation_id=draft.id).count() == 0


def test_targets_added_without_materialize_are_still_leased(world):
    person = world.contact("Direct", time_zone="Europe/Paris")
    op = world.operation()
    db.session.add(Target(operation_id=op.id, contact_id=person.id, time_zone="Europe/Paris",
                          next_eligible_at=NOW - timedelta(hours=1)))
    db.session.commit()
    agent = world.agent(operation=op)
    assert lease_next(db.session, op, agent, now=NOW).contact_id == person.id
