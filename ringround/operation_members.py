"""Who is in an operation, as what, and who manages it: the one place for membership rules.

`admit` lets a person in, whoever asks: a join link (`ringround.enrollment.enroll`) or an
organizer or owner (`add_member`, the wizard's people step and the sharing people page).
`entry_for` is its decision: a link never lowers a role and never lets a removed person
back; an organizer or owner adds anyone not in yet and lifts a removal. One membership per
person and operation. `standing_in` says whether someone manages an operation, and as what;
the console's and the sharing pages' `managed_operation` decorators both ask it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.models import (
    Membership,
    Operation,
    OperationMember,
    OperationRemoval,
    OperationRole,
    OperationState,
    OrgRole,
    User,
)
from ringround.operation_errors import OperationError, check_editable


class Entry(enum.Enum):
    """What letting a person into an operation does."""

    ADD = "add"  # a new member
    PROMOTE = "promote"  # an agent who opened an owner link becomes an owner
    KEEP = "keep"  # in already, with this role or a higher one: nothing changes
    REFUSE = "refuse"  # removed, and only an organizer or owner lets them back


def entry_for(current: OperationRole | None, removed: bool, role: OperationRole, *,
              by_manager: bool) -> Entry:
    """The membership rule: what asking for `role` does to someone whose role is `current`
    (None: not a member) and who was `removed` or not. A link (`by_manager` False) gives its
    role, never lowers one and never lets a removed person back; an organizer or owner adds
    anyone not in yet, lifting a removal. Role changes of members go through `update_member`."""
    if current is None:
        return Entry.REFUSE if removed and not by_manager else Entry.ADD
    if (not by_manager and role is OperationRole.OWNER
            and current is not OperationRole.OWNER):
        return Entry.PROMOTE
    return Entry.KEEP


@dataclass(frozen=True)
class Admission:
    """What `admit` did: the member (None when refused) and the entry decided."""

    member: OperationMember | None
    entry: Entry


def admit(
    session: Session, operation: Operation, user_id: int, role: OperationRole, *,
    manager: User | None = None, via_link_id: int | None = None,
    prefer_tags: list[str] | None = None, avoid_tags: list[str] | None = None,
    before_change=None,
) -> Admission:
    """Let a person into the operation as `entry_for` decides: through a link (`manager`
    None, `via_link_id` remembered) or added by an organizer or owner (`manager`, audited,
    lifting a standing removal). `before_change()` runs just before a membership is created or
    raised (a link takes one of its uses there) and may raise to stop it."""
    member = session.scalar(select(OperationMember).where(
        OperationMember.operation_id == operation.id, OperationMember.user_id == user_id))
    removed = (member is None and manager is None
               and removal_of(session, operation.id, user_id) is not None)
    entry = entry_for(member.role if member else None, removed, role,
                      by_manager=manager is not None)
    if entry in (Entry.ADD, Entry.PROMOTE) and before_change is not None:
        before_change()
    if entry is Entry.PROMOTE:
        member.role = OperationRole.OWNER
    elif entry is Entry.ADD:
        member = OperationMember(operation_id=operation.id, user_id=user_id, role=role,
                                 prefer_tags=prefer_tags or [], avoid_tags=avoid_tags or [],
                                 joined_via_link_id=via_link_id)
        session.add(member)
        if manager is not None:
            session.execute(delete(OperationRemoval).where(
                OperationRemoval.operation_id == operation.id,
                OperationRemoval.user_id == user_id))
        session.flush()
        session.expire(operation, ["members"])
        if manager is not None:
            record_audit(session, operation.organization_id, manager.id,
                         "operation.member_added", "operation", operation.id,
                         {"user_id": user_id, "role": role.value})
    return Admission(member if entry is not Entry.REFUSE else None, entry)


def _clean_tags(tags: list[str] | str | None) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    return sorted({t.strip()[:64] for t in tags or [] if t.strip()})


def candidate_members(session: Session, operation: Operation) -> list[User]:
    """Users who could join this operation: the organization's members, anyone already in
    one of its operations (volunteers who joined by link) and those removed from this one
    (to add them back), minus current members."""
    org_id = operation.organization_id
    current = {m.user_id for m in operation.members}
    org_users = select(Membership.user_id).where(Membership.organization_id == org_id)
    op_users = select(OperationMember.user_id).join(Operation).where(
        Operation.organization_id == org_id)
    removed = select(OperationRemoval.user_id).where(
        OperationRemoval.operation_id == operation.id)
    users = session.scalars(
        select(User).where(User.id.in_(org_users.union(op_users, removed)),
                           User.active.is_(True))
        .order_by(User.display_name)
    )
    return [user for user in users if user.id not in current]


def add_member(
    session: Session, operation: Operation, actor: User, *, user_id: int, role: str,
    prefer_tags: list[str] | str | None = None, avoid_tags: list[str] | str | None = None,
) -> OperationMember:
    """Add an owner or agent (someone already known to the organization). Adding back someone
    who was removed lifts the removal: join links let them in again."""
    check_editable(operation)
    if user_id not in {u.id for u in candidate_members(session, operation)}:
        raise OperationError(_("Choose someone from your organization who is not in yet."),
                             "user")
    try:
        role_value = OperationRole(role)
    except ValueError:
        raise OperationError(_("Choose owner or agent."), "role") from None
    admission = admit(session, operation, user_id, role_value, manager=actor,
                      prefer_tags=_clean_tags(prefer_tags), avoid_tags=_clean_tags(avoid_tags))
    if admission.entry is not Entry.ADD:  # in already (the candidates said otherwise)
        raise OperationError(_("Choose someone from your organization who is not in yet."),
                             "user")
    return admission.member


def _member(operation: Operation, member_id: int) -> OperationMember:
    member = next((m for m in operation.members if m.id == member_id), None)
    if member is None:
        raise OperationError(_("This person is not in the operation."), "member")
    return member


def _owners(operation: Operation) -> list[OperationMember]:
    return [m for m in operation.members if m.role is OperationRole.OWNER]


def update_member(
    session: Session, operation: Operation, member_id: int, *, role: str,
    prefer_tags: list[str] | str | None = None, avoid_tags: list[str] | str | None = None,
    actor: User | None = None,
) -> OperationMember:
    """Change a member's role, and the tags that steer which targets they get first or never
    (None leaves them as they are). A change of role is audited when `actor` is given."""
    check_editable(operation)
    member = _member(operation, member_id)
    try:
        role_value = OperationRole(role)
    except ValueError:
        raise OperationError(_("Choose owner or agent."), "role") from None
    if member.role is OperationRole.OWNER and role_value is not OperationRole.OWNER \
            and len(_owners(operation)) == 1:
        raise OperationError(_("An operation keeps at least one owner."), "role")
    prefer = member.prefer_tags if prefer_tags is None else _clean_tags(prefer_tags)
    avoid = member.avoid_tags if avoid_tags is None else _clean_tags(avoid_tags)
    if set(prefer) & set(avoid):
        raise OperationError(_("A tag cannot be both preferred and avoided."), "tags")
    changed_role = member.role is not role_value
    member.role, member.prefer_tags, member.avoid_tags = role_value, prefer, avoid
    if changed_role and actor is not None:
        session.flush()
        record_audit(session, operation.organization_id, actor.id, "operation.member_role",
                     "operation", operation.id,
                     {"user_id": member.user_id, "role": role_value.value})
    return member


def remove_member(
    session: Session, operation: Operation, actor: User, member_id: int
) -> None:
    """Take someone out of the operation (never the last owner). The removal holds: no join
    link lets them back in until an organizer or owner adds them back (`add_member`)."""
    check_editable(operation)
    member = _member(operation, member_id)
    if member.role is OperationRole.OWNER and len(_owners(operation)) == 1:
        raise OperationError(_("An operation keeps at least one owner."), "member")
    operation.members.remove(member)
    if removal_of(session, operation.id, member.user_id) is None:
        session.add(OperationRemoval(operation_id=operation.id, user_id=member.user_id,
                                     removed_by_id=actor.id))
    session.flush()
    record_audit(session, operation.organization_id, actor.id, "operation.member_removed",
                 "operation", operation.id, {"user_id": member.user_id})


def removal_of(session: Session, operation_id: int, user_id: int) -> OperationRemoval | None:
    """The standing removal of this person from this operation, if any."""
    return session.scalar(select(OperationRemoval).where(
        OperationRemoval.operation_id == operation_id, OperationRemoval.user_id == user_id))


def removed_people(session: Session, operation_id: int) -> list[tuple[User, OperationRemoval]]:
    """People removed from the operation (newest first), whom the people page can add back."""
    return [(user, removal) for user, removal in session.execute(
        select(User, OperationRemoval).join(OperationRemoval, OperationRemoval.user_id == User.id)
        .where(OperationRemoval.operation_id == operation_id)
        .order_by(OperationRemoval.removed_at.desc())
    ).tuples()]

# --- who manages ---------------------------------------------------------------------------

class Standing(enum.StrEnum):
    """Where a user stands towards one operation."""

    ORGANIZER = "organizer"  # an admin or organizer of its organization
    OWNER = "owner"
    AGENT = "agent"  # in it, to call; does not manage it
    OUTSIDER = "outsider"  # must not even learn that it exists

    @property
    def manages(self) -> bool:
        """Edits the operation, its people and links, and sees its results."""
        return self in (Standing.ORGANIZER, Standing.OWNER)


def standing_in(session: Session, operation: Operation, user: User) -> Standing:
    """The one rule for "may this user manage this operation, and as what": organization
    admins and organizers, then the operation's owners; its agents do not manage it."""
    if not getattr(user, "is_authenticated", False):
        return Standing.OUTSIDER
    if is_organizer(session, operation.organization_id, user):
        return Standing.ORGANIZER
    role = next((m.role for m in operation.members if m.user_id == user.id), None)
    if role is OperationRole.OWNER:
        return Standing.OWNER
    return Standing.AGENT if role is not None else Standing.OUTSIDER


def can_manage(session: Session, operation: Operation, user: User) -> bool:
    """Organization admins and organizers, and the operation's owners, edit it and see results.
    Agents never do."""
    return standing_in(session, operation, user).manages

# Who is called and what callers see of them are the organization's decisions: an owner (a
# role anyone gets through an owner link) edits the script, questions, rules and people only.
ORGANIZER_STEPS = frozenset({"source", "fields"})


def is_organizer(session: Session, organization_id: int, user: User) -> bool:
    """An admin or organizer of the organization."""
    if not getattr(user, "is_authenticated", False):
        return False
    role = session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.organization_id == organization_id))
    return role in (OrgRole.ADMIN, OrgRole.ORGANIZER)


def can_edit_step(session: Session, operation: Operation, user: User, step: str) -> bool:
    """Whether `user` may change this wizard step: the source and the fields callers see are
    for organizers only; the other steps for everyone who manages the operation."""
    if step in ORGANIZER_STEPS:
        return is_organizer(session, operation.organization_id, user)
    return can_manage(session, operation, user)


def owned_operations(session: Session, user: User) -> list[Operation]:
    """Operations where `user` is an owner."""
    return list(session.scalars(
        select(Operation).join(OperationMember).where(
            OperationMember.user_id == user.id, OperationMember.role == OperationRole.OWNER)
        .order_by(Operation.created_at.desc())
    ))


# --- who is in ------------------------------------------------------------------------------

def operation_role(session: Session, user: User, operation_id: int) -> OperationRole | None:
    return session.scalar(select(OperationMember.role).where(
        OperationMember.operation_id == operation_id, OperationMember.user_id == user.id))


def operation_members(session: Session, operation_id: int) -> list[OperationMember]:
    return list(session.scalars(
        select(OperationMember).where(OperationMember.operation_id == operation_id)
        .order_by(OperationMember.role.desc(), OperationMember.created_at)
    ))


def search_people(session: Session, org_id: int, query: str, limit: int = 10) -> list[User]:
    """Users already known to the organization (members or callers of any of its operations)
    whose name, email or phone matches `query`. Never searches other organizations' people."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    in_org = select(Membership.user_id).where(Membership.organization_id == org_id)
    in_ops = (select(OperationMember.user_id)
              .join(Operation, Operation.id == OperationMember.operation_id)
              .where(Operation.organization_id == org_id))
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    matches = [func.lower(User.display_name).like(pattern, escape="\\"),
               func.lower(User.email).like(pattern, escape="\\")]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 4:
        matches.append(User.phone_e164.like(f"%{digits}%"))
    return list(session.scalars(
        select(User).where(or_(User.id.in_(in_org), User.id.in_(in_ops)), or_(*matches),
                           User.active.is_(True))
        .order_by(User.display_name).limit(limit)
    ))


def landing_operation(session: Session, user: User) -> Operation | None:
    """The operation a volunteer most likely wants to call for (latest joined, not ended)."""
    return session.scalar(
        select(Operation).join(OperationMember, OperationMember.operation_id == Operation.id)
        .where(OperationMember.user_id == user.id, Operation.state != OperationState.ENDED)
        .order_by(OperationMember.created_at.desc(), OperationMember.id.desc()).limit(1)
    )
