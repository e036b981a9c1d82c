from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ringround.models import (
    Attempt,
    Contact,
    ContactPhone,
    OperationState,
    Tag,
    Target,
    TargetState,
)


def test_datetimes_come_back_aware_in_utc(any_app, db, factories):
    org, _ = factories.org_with_admin()
    paris = timezone(timedelta(hours=1))
    op = factories.operation(org, starts_at=datetime(2026, 3, 1, 10, 0, tzinfo=paris))
    db.session.expire_all()
    assert op.starts_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert op.starts_at.tzinfo is not None


def test_naive_datetimes_are_refused(any_app, db, factories):
    org, _ = factories.org_with_admin()
    with pytest.raises(Exception, match="naive datetime"):
        factories.operation(org, starts_at=datetime(2026, 3, 1, 10, 0))
    db.session.rollback()


def test_enums_are_stored_as_strings(any_app, db, factories):
    org, admin = factories.org_with_admin()
    op = factories.operation(org, admin, state=OperationState.ACTIVE)
    raw = db.session.execute(
        db.text("SELECT state FROM operations WHERE id = :id"), {"id": op.id}
    ).scalar_one()
    assert raw == "active"


def test_a_number_belongs_to_one_contact_per_organization(any_app, db, factories):
    org, _ = factories.org_with_admin()
    factories.contact(org, phone="+16175550001")
    person = Contact(organization_id=org.id, first_name="Dup")
    person.phones.append(ContactPhone(organization_id=org.id, e164="+16175550001"))
    db.session.add(person)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    other, _ = factories.org_with_admin()
    factories.contact(other, phone="+16175550001")  # another organization may hold it


def test_a_contact_is_in_an_operation_once(any_app, db, factories):
    org, admin = factories.org_with_admin()
    op = factories.operation(org, admin)
    person = factories.contact(org)
    db.session.add(Target(operation_id=op.id, contact_id=person.id))
    db.session.commit()
    db.session.add(Target(operation_id=op.id, contact_id=person.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_attempt_client_ids_are_unique(any_app, db, factories):
    org, admin = factories.org_with_admin()
    op = factories.operation(org, admin)
    db.session.add(Attempt(client_id="abc", operation_id=op.id))
    db.session.commit()
    db.session.add(Attempt(client_id="abc", operation_id=op.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_deleting_a_contact_keeps_anonymous_attempts(any_app, db, factories):
    org, admin = factories.org_with_admin()
    op = factories.operation(org, admin)
    person = factories.contact(org)
    target = Target(operation_id=op.id, contact_id=person.id, state=TargetState.DONE)
    db.session.add(target)
    db.session.flush()
    db.session.add(Attempt(client_id="x1", operation_id=op.id, target_id=target.id,
                           contact_id=person.id, disposition="talked"))
    db.session.commit()
    db.session.delete(person)
    db.session.commit()
    db.session.expire_all()
    attempt = db.session.scalar(select(Attempt))
    assert attempt.contact_id is None and attempt.disposition == "talked"


def test_tags_are_unique_per_organization(any_app, db, factories):
    org, _ = factories.org_with_admin()
    db.session.add_all([Tag(organization_id=org.id, name="volunteer"),
                        Tag(organization_id=org.id, name="volunteer")])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
