"""Field and tag exclusions take effect on the targets when rules are saved and when contacts
change, so "ready to call" never counts people an exclusion will remove."""

from __future__ import annotations

import itertools

from freezegun import freeze_time
from sqlalchemy import insert, select

from ringround import operations as ops
from ringround.extensions import db
from ringround.models import (
    Contact,
    ContactPhone,
    CustomField,
    Target,
    TargetState,
)
from ringround.operation_stats import operation_figures
from ringround.people.contacts import set_do_not_contact
from ringround.people.filters import bulk_tag
from ringround.people.importer import import_contacts
from ringround.queue import ResultIn, lease_next, materialize_targets, record_result
from tests.core.queue.conftest import NOW

VOTED = {"kind": "field_equals", "label": "Already voted", "field": "voted", "value": "yes"}
_ids = itertools.count(1)
ANN = {"fields": [{"field": "first_name", "value": "Ann"}]}


def save_rules(op, *rules, household_wide=False):
    ops.update_exclusions(db.session, op, household_wide=household_wide, rules=list(rules),
                          done_conditions=[], cooldown_minutes=0, max_calls_per_person=None)
    db.session.commit()


def ready(op) -> int:
    db.session.expire_all()
    return operation_figures(db.session, op, now=NOW).ready


def state_of(op, person) -> TargetState:
    db.session.expire_all()
    return db.session.scalar(select(Target.state).where(
        Target.operation_id == op.id, Target.contact_id == person.id))


def many_contacts(org_id: int, total: int, voted: int) -> None:
    """`total` contacts in New York (inside the window at NOW), the first `voted` voted."""
    db.session.add(CustomField(organization_id=org_id, key="voted", label="Voted"))
    rows = [{"organization_id": org_id, "first_name": f"P{i}", "time_zone": "America/New_York",
             "custom": {"voted": "yes" if i < voted else "no"}, "do_not_contact": False}
            for i in range(total)]
    db.session.execute(insert(Contact), rows)
    ids = db.session.scalars(select(Contact.id).where(Contact.organization_id == org_id)
                             .order_by(Contact.id)).all()
    db.session.execute(insert(ContactPhone), [
        {"organization_id": org_id, "contact_id": cid, "e164": f"+1617{cid:07d}",
         "label": "mobile", "is_mobile": True, "country": "US", "position": 0,
         "status": "ok"} for cid in ids])
    db.session.commit()


@freeze_time(NOW)
def test_saving_an_exclusion_takes_voters_out_of_ready_at_once(any_world):
    world = any_world
    many_contacts(world.org.id, 845, 236)
    op = world.operation()
    materialize_targets(db.session, op, now=NOW)
    db.session.commit()
    assert ready(op) == 845
    save_rules(op, VOTED)
    assert ready(op) == 609
    figures = operation_figures(db.session, op, now=NOW)
    assert figures.removed == 236
    # Taking the rule away brings them back.
    save_rules(op)
    assert ready(op) == 845


@freeze_time(NOW)
def test_new_targets_are_excluded_when_created(world):
    voter = world.contact(custom={"voted": "Yes"})
    other = world.contact()
    db.session.add(CustomField(organization_id=world.org.id, key="voted", label="Voted"))
    db.session.commit()
    op = world.operation(exclusions={"rules": [VOTED]})
    materialize_targets(db.session, op, now=NOW)
    db.session.commit()
    assert state_of(op, voter) == TargetState.REMOVED
    assert state_of(op, other) == TargetState.WAITING
    assert ready(op) == 1


@freeze_time(NOW)
def test_a_callers_field_edit_removes_the_person_and_editing_back_returns_them(world):
    db.session.add(CustomField(organization_id=world.org.id, key="voted", label="Voted"))
    world.org.call_gap_minutes = 0  # the other operation may call them straight away
    person = world.contact(custom={"voted": "no"})
    op = world.operation([person], exclusions={"rules": [VOTED]})
    other_op = world.operation([person], name="Other", exclusions={"rules": [VOTED]})
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW, max_open=0)
    record_result(db.session, ResultIn(f"x{next(_ids)}", op.id, lease.target_id, agent.id,
                                       "no_answer", field_updates={"voted": "yes"}), now=NOW)
    db.session.commit()
    assert state_of(op, person) == TargetState.REMOVED
    assert state_of(other_op, person) == TargetState.REMOVED
    assert ready(other_op) == 0
    # Edited back (here by an import of the same number): back in line, in both.
    from ringround.queue.exclusions import contacts_changed

    contact = db.session.get(Contact, person.id)
    contact.custom = {"voted": "no"}
    contacts_changed(db.session, world.org.id, [person.id])
    db.session.commit()
    assert state_of(other_op, person) == TargetState.WAITING
    assert ready(other_op) == 1


@freeze_time(NOW)
def test_an_import_that_fills_a_field_takes_the_person_out(world, tmp_path):
    db.session.add(CustomField(organization_id=world.org.id, key="voted", label="Voted"))
    first = world.contact(first_name="Ann")
    second = world.contact(first_name="Bob")
    op = world.operation([first, second], exclusions={"rules": [VOTED]})
    assert ready(op) == 2
    csv = tmp_path / "update.csv"
    csv.write_text("first_name,phone,voted\n"
                   f"Ann,{first.phones[0].e164},yes\n"
                   f"Bob,{second.phones[0].e164},no\n", encoding="utf-8")
    summary, _ = import_contacts(db.session, world.org.id, csv, workers=0)
    db.session.commit()
    assert summary.rejected == 0
    assert state_of(op, first) == TargetState.REMOVED
    assert state_of(op, second) == TargetState.WAITING
    assert ready(op) == 1


@freeze_time(NOW)
def test_tagging_people_applies_a_tag_exclusion_household_wide(world):
    tagged = world.contact(first_name="Ann", household="h1")
    housemate = world.contact(first_name="Bob", household="h1")
    stranger = world.contact(first_name="Cy")
    op = world.operation([tagged, housemate, stranger], exclusions={
        "household_wide": True,
        "rules": [{"kind": "tag", "label": "Staff household", "tag": "Staff"}]})
    assert ready(op) == 3
    bulk_tag(db.session, world.org.id, ANN, "staff")
    db.session.commit()
    assert state_of(op, tagged) == TargetState.REMOVED
    assert state_of(op, housemate) == TargetState.REMOVED
    assert state_of(op, stranger) == TargetState.WAITING
    assert ready(op) == 1
    bulk_tag(db.session, world.org.id, ANN, "staff", add=False)
    db.session.commit()
    assert ready(op) == 3


@freeze_time(NOW)
def test_do_not_contact_takes_the_person_out_of_ready_and_lifting_it_brings_them_back(world):
    person, other = world.contact(), world.contact()
    op = world.operation([person, other])
    assert ready(op) == 2
    set_do_not_contact(db.session, db.session.get(Contact, person.id), True, world.admin.id)
    db.session.commit()
    assert state_of(op, person) == TargetState.REMOVED and ready(op) == 1
    set_do_not_contact(db.session, db.session.get(Contact, person.id), False, world.admin.id)
    db.session.commit()
    assert state_of(op, person) == TargetState.WAITING and ready(op) == 2


@freeze_time(NOW)
def test_a_do_not_call_result_takes_the_person_out_of_other_operations_at_once(world):
    person = world.contact()
    op = world.operation([person])
    other_op = world.operation([person], name="Other")
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW, max_open=0)
    record_result(db.session, ResultIn(f"x{next(_ids)}", op.id, lease.target_id, agent.id,
                                       "do_not_call"), now=NOW)
    db.session.commit()
    assert state_of(other_op, person) == TargetState.REMOVED
    assert ready(other_op) == 0
