"""Who is calling for which operation: the user, the operation and the membership, one query.

Every request of the caller app checks that the signed-in user is a member of the operation in
its URL. Loaded one by one that was three SELECTs per request; here it is one, which also
brings the organization's name (cards and scripts show it) and what the operation's cached
caller settings are keyed by (`settings_version`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from ringround.models import (
    CustomField,
    Operation,
    OperationMember,
    OperationRole,
    Organization,
    User,
)


@dataclass(frozen=True)
class CallerAccess:
    """The operation, the user (None if unknown) and their role in it (None: not a member)."""

    operation: Operation
    user: User | None
    role: OperationRole | None
    organization_name: str
    settings_version: tuple
    organization_language: str | None = None  # the pages' language for who has chosen none


@cache
def _statement():
    """Built once: building it (and its cache key) cost more than running it."""
    of_org = CustomField.organization_id == Operation.organization_id
    count = select(func.count(CustomField.id)).where(of_org).scalar_subquery()
    newest = select(func.max(CustomField.id)).where(of_org).scalar_subquery()
    return (
        select(Operation, User, OperationMember.role, Organization.name, count, newest,
               Organization.language)
        .join(Organization, Organization.id == Operation.organization_id)
        .outerjoin(User, User.id == bindparam("user_id"))
        .outerjoin(OperationMember, and_(OperationMember.operation_id == Operation.id,
                                         OperationMember.user_id == User.id))
        .where(Operation.id == bindparam("operation_id")))


def caller_access(session: Session, operation_id: int, user_id: int | None
                  ) -> CallerAccess | None:
    """The operation with the user and their membership, or None when there is no such
    operation. The user and the operation land in the session's identity map, so loading the
    signed-in user afterwards (Flask-Login's loader, `session.get`) needs no query.

    `settings_version`: the operation's last change and its organization's custom fields
    (their number and newest id: they are only ever added), which the caller settings built
    from them are cached by (`operation_fields.effective_settings`)."""
    row = session.execute(_statement(), {"operation_id": operation_id,
                                         "user_id": user_id if user_id is not None else -1}
                          ).first()
    if row is None:
        return None
    operation, user, role, org_name, count, newest, org_language = row
    # The database is part of the version: tests (and tools) use many in one process.
    return CallerAccess(operation, user, role, org_name or "",
                        (str(session.get_bind().url), operation.updated_at, count, newest),
                        org_language)
