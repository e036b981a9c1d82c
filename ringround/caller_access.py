"""Who is calling for which operation: the user, the operation and the membership, one query.

Every request of the caller app checks that the signed-in user is a member of the operation in
its URL. Loaded one by one that was three SELECTs per request; here it is one, which also
brings the organization's name (cards and scripts show it) and what the operation's cached
caller settings are keyed by (`settings_version`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from ringround.models import (
    CustomField,
    Operation,
    OperationMember,
    OperationRole,
    Organization,
    User,
)
from ringround.queue.statements import runnable


@dataclass(frozen=True)
class CallerAccess:
    """The operation, the user (None if unknown) and their role in it (None: not a member)."""

    operation: Operation
    user: User | None
    role: OperationRole | None
    organization_name: str
    settings_version: tuple
    organization_language: str | None = None  # the pages' language for who has chosen none


def _columns(model, prefix: str) -> list[tuple[str, object]]:
    """A model's mapped columns: (attribute key, column labelled with `prefix`)."""
    return [(attr.key, attr.columns[0].label(prefix + attr.key))
            for attr in inspect(model).column_attrs]


_OPERATION = _columns(Operation, "o_")
_USER = _columns(User, "u_")
_OPERATION_KEYS = [key for key, _column in _OPERATION]
_USER_KEYS = [key for key, _column in _USER]


def _build():
    of_org = CustomField.organization_id == Operation.organization_id
    count = select(func.count(CustomField.id)).where(of_org).scalar_subquery()
    newest = select(func.max(CustomField.id)).where(of_org).scalar_subquery()
    return (
        select(*(column for _key, column in _OPERATION), *(column for _key, column in _USER),
               OperationMember.role.label("role"), Organization.name.label("org_name"),
               count.label("field_count"), newest.label("field_newest"),
               Organization.language.label("org_language"))
        .join(Organization, Organization.id == Operation.organization_id)
        .outerjoin(User, User.id == bindparam("user_id"))
        .outerjoin(OperationMember, and_(OperationMember.operation_id == Operation.id,
                                         OperationMember.user_id == User.id))
        .where(Operation.id == bindparam("operation_id")))



def _attached(session: Session, model, keys: list[str], values) -> object:
    """The entity of a row read on the driver: the session's own if it has one already,
    else a new instance holding the row's values, added to the session as if loaded by it
    (clean, in the identity map; relationships load lazily as usual)."""
    mapper = inspect(model)
    loaded = dict(zip(keys, values, strict=True))
    found = session.identity_map.get(mapper.identity_key_from_primary_key((loaded["id"],)))
    if found is not None:
        return found
    entity = mapper.class_manager.new_instance()
    entity.__dict__.update(loaded)
    make_transient_to_detached(entity)
    session.add(entity)
    return entity


def caller_access(session: Session, operation_id: int, user_id: int | None
                  ) -> CallerAccess | None:
    """The operation with the user and their membership, or None when there is no such
    operation. The user and the operation land in the session's identity map, so loading the
    signed-in user afterwards (Flask-Login's loader, `session.get`) needs no query.

    `settings_version`: the operation's last change and its organization's custom fields
    (their number and newest id: they are only ever added), which the caller settings built
    from them are cached by (`operation_fields.effective_settings`)."""
    # Run as the queue's statements are (on the driver's cursor unless the tests ask for the
    # plain way): through the ORM, loading the two entities cost about 0.3 ms of a request's
    # CPU, more than the query itself.
    row = runnable("caller_access", _build).first(session.connection(), {
        "operation_id": operation_id, "user_id": user_id if user_id is not None else -1})
    if row is None:
        return None
    split = len(_OPERATION)
    operation = _attached(session, Operation, _OPERATION_KEYS, row[:split])
    user_values = row[split:split + len(_USER)]
    user = (_attached(session, User, _USER_KEYS, user_values)
            if user_values[0] is not None else None)
    # The database is part of the version: tests (and tools) use many in one process.
    return CallerAccess(operation, user, row.role, row.org_name or "",
                        (str(session.get_bind().url), operation.updated_at, row.field_count,
                         row.field_newest),
                        row.org_language)

