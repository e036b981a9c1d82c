"""Fixtures for the queue: an active operation, agents, contacts in time zones, a fixed clock."""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.exc import SAWarning

from ringround.extensions import db as _db
from ringround.models import (
    Contact,
    ContactPhone,
    Household,
    Operation,
    OperationMember,
    OperationRole,
    OperationState,
    PhoneLabel,
    Tag,
    User,
)
from ringround.queue import materialize_targets
from ringround.queue.statements import use_plain_statements

# A Tuesday, 18:00 UTC: 13:00 in New York, 10:00 in Los Angeles, 19:00 in Paris.
NOW = datetime(2026, 3, 17, 18, 0, tzinfo=UTC)
_numbers = itertools.count(1000)


class QueueWorld:
    """Builds what a queue test needs, in one organization."""

    def __init__(self, factories):
        self.factories = factories
        self.org, self.admin = factories.org_with_admin()

    def agent(self, name: str = "Agent", phone: str | None = None, operation=None,
              prefer=(), avoid=()) -> User:
        user = self.factories.phone_user(name, phone=phone or f"+1415555{next(_numbers):04d}")
        if operation is not None:
            self.join(operation, user, prefer=prefer, avoid=avoid)
        return user

    def join(self, operation, user, prefer=(), avoid=()):
        _db.session.add(OperationMember(operation_id=operation.id, user_id=user.id,
                                        role=OperationRole.AGENT, prefer_tags=list(prefer),
                                        avoid_tags=list(avoid)))
        _db.session.commit()

    def contact(self, first_name: str = "Maria", time_zone: str = "America/New_York",
                phones: int = 1, tags=(), household: str | None = None, **fields) -> Contact:
        person = Contact(organization_id=self.org.id, first_name=first_name,
                         time_zone=time_zone, **fields)
        for i in range(phones):
            person.phones.append(ContactPhone(
                organization_id=self.org.id, e164=f"+1617555{next(_numbers):04d}",
                label=PhoneLabel.MOBILE, is_mobile=True, country="US", position=i))
        for name in tags:
            tag = _db.session.query(Tag).filter_by(organization_id=self.org.id,
                                                   name=name).first()
            if tag is None:
                tag = Tag(organization_id=self.org.id, name=name)
            person.tags.append(tag)
        if household is not None:
            found = _db.session.query(Household).filter_by(organization_id=self.org.id,
                                                           key=household).first()
            person.household = found or Household(organization_id=self.org.id, key=household)
        _db.session.add(person)
        _db.session.commit()
        return person

    def operation(self, contacts=(), now: datetime = NOW, **fields) -> Operation:
        fields.setdefault("state", OperationState.ACTIVE)
        fields.setdefault("starts_at", now - timedelta(days=1))
        fields.setdefault("ends_at", now + timedelta(days=30))
        fields.setdefault("window_start", time(9, 0))
        fields.setdefault("window_end", time(21, 0))
        op = Operation(organization_id=self.org.id, name=fields.pop("name", "Op"), **fields)
        op.members.append(OperationMember(user_id=self.admin.id, role=OperationRole.OWNER))
        _db.session.add(op)
        _db.session.commit()
        if contacts:
            materialize_targets(_db.session, op, [c.id for c in contacts], now=now)
            _db.session.commit()
            _db.session.refresh(op)
        return op


@pytest.fixture(autouse=True, params=["driver", "plain"])
def statement_kind(request):
    """Every queue test runs twice: with the fast statements (on the driver's cursor) and
    with the same statements through SQLAlchemy (ringround.queue.statements)."""
    if request.param == "plain":
        # PostgreSQL's attempt-and-target statement updates the target FROM the one-row CTE
        # of the new attempt, on purpose; SQLAlchemy's linter warns when it executes it.
        # (pytest restores the warning filters after each test.)
        warnings.filterwarnings("ignore", 'UPDATE statement has a cartesian product between '
                                'FROM element.s. "(targets|new_attempt)" and FROM element '
                                '"(targets|new_attempt)"',
                                SAWarning)
        with use_plain_statements():
            yield request.param
    else:
        yield request.param


@pytest.fixture
def world(factories):
    return QueueWorld(factories)


@pytest.fixture
def any_world(any_app, db):
    from tests import factories

    return QueueWorld(factories)
