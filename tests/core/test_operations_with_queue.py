"""The wizard's operation handed to the real queue: activation materializes targets from the
source, the dashboard reads the queue's reasons, resume picks up newly matching contacts."""

from datetime import UTC, datetime, time

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from ringround import operations as ops
from ringround.models import SavedList, Tag, Target
from ringround.operation_stats import operation_figures

# A Tuesday: 13:00 in New York, 19:00 in Paris, 04:00 (next day) in Tokyo.
NOW = datetime(2026, 3, 17, 18, 0, tzinfo=UTC)


@pytest.fixture
def world(db, factories):
    org, admin = factories.org_with_admin()
    member = Tag(organization_id=org.id, name="member")
    db.session.add(member)
    people = {}
    for name, zone in [("ny", "America/New_York"), ("paris", "Europe/Paris"),
                       ("tokyo", "Asia/Tokyo")]:
        people[name] = factories.contact(org, first_name=name, time_zone=zone)
        people[name].tags.append(member)
    people["outsider"] = factories.contact(org, first_name="outsider")
    db.session.commit()
    return org, admin, people


def live(db, org, admin, **source):
    op = ops.create_draft(db.session, org.id, admin, "Turnout")
    ops.update_basics(db.session, op, name="Turnout", description="",
                      starts_at=datetime(2026, 3, 1, tzinfo=UTC), ends_at=None,
                      window_start=time(9), window_end=time(21), weekdays="0123456")
    ops.update_source(db.session, op, **source)
    return op


@freeze_time(NOW)
def test_activation_materializes_targets_from_a_filter(db, world):
    org, admin, people = world
    op = live(db, org, admin, contact_filter={"tags_any": "member"})
    added = ops.activate(db.session, op, admin)
    db.session.commit()
    assert added == 3
    contacts = set(db.session.scalars(select(Target.contact_id).where(
        Target.operation_id == op.id)))
    assert contacts == {people[n].id for n in ("ny", "paris", "tokyo")}


@freeze_time(NOW)
def test_activation_from_a_saved_list(db, world):
    org, admin, people = world
    saved = SavedList(organization_id=org.id, name="Outsiders", filter={"tags_none": ["member"]})
    db.session.add(saved)
    db.session.flush()
    op = live(db, org, admin, list_id=saved.id)
    assert ops.activate(db.session, op, admin) == 1


@freeze_time(NOW)
def test_dashboard_counts_ready_and_outside_hours_from_the_queue(db, world):
    org, admin, _ = world
    op = live(db, org, admin, contact_filter={"tags_any": "member"})
    ops.activate(db.session, op, admin)
    db.session.commit()
    figures = operation_figures(db.session, op, now=NOW)
    # New York (13:00) and Paris (19:00) are inside 09-21; Tokyo (04:00) is not.
    assert figures.ready == 2
    assert figures.blocked == {"outside_hours": 1}
    assert figures.targets == 3


@freeze_time(NOW)
def test_resume_adds_contacts_who_match_since(db, world, factories):
    org, admin, _ = world
    op = live(db, org, admin, contact_filter={"tags_any": "member"})
    ops.activate(db.session, op, admin)
    ops.pause(db.session, op, admin)
    newcomer = factories.contact(org, first_name="new")
    newcomer.tags.append(db.session.scalar(select(Tag).where(Tag.name == "member")))
    db.session.commit()
    ops.resume(db.session, op, admin)
    db.session.commit()
    assert newcomer.id in set(db.session.scalars(select(Target.contact_id).where(
        Target.operation_id == op.id)))


@freeze_time(NOW)
def test_changing_the_source_of_a_live_operation_adds_its_contacts(db, world):
    org, admin, people = world
    op = live(db, org, admin, contact_filter={"tags_any": "member"})
    ops.activate(db.session, op, admin)
    ops.update_source(db.session, op, contact_filter={"tags_none": "member"})
    db.session.commit()
    assert people["outsider"].id in set(db.session.scalars(select(Target.contact_id).where(
        Target.operation_id == op.id)))
