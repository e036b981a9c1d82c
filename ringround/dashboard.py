"""Figures for the organizer console."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ringround.models import Contact, Membership, Operation, OperationState


@dataclass(frozen=True)
class OrganizationOverview:
    contacts: int
    members: int
    operations: int
    active_operations: int


def organization_overview(session: Session, org_id: int) -> OrganizationOverview:
    """Counts shown on an organization's dashboard."""

    def count(column, *where) -> int:
        return session.scalar(select(func.count(column)).where(*where)) or 0

    return OrganizationOverview(
        contacts=count(Contact.id, Contact.organization_id == org_id),
        members=count(Membership.id, Membership.organization_id == org_id),
        operations=count(Operation.id, Operation.organization_id == org_id),
        active_operations=count(
            Operation.id, Operation.organization_id == org_id,
            Operation.state == OperationState.ACTIVE,
        ),
    )
