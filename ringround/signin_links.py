"""Personal sign-in links: how a returning volunteer gets in on a new device without SMS.

An organizer or owner makes a link for one person (shown once, as a URL and a QR code); it
works once, for an hour, and only the token's SHA-256 is stored. Who may make one is narrow on
purpose: a link signs its holder in as that person, everywhere that person has access, so the
maker must already control everything the person can reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringround.accounts import role_in
from ringround.audit import record_audit
from ringround.enrollment import TOKEN_RE, EnrollmentError, hash_token, new_token
from ringround.models import (
    Membership,
    Operation,
    OperationMember,
    OperationRole,
    OrgRole,
    SigninLink,
    User,
    utcnow,
)

SIGNIN_LINK_LIFETIME = timedelta(hours=1)


def signin_path(token: str) -> str:
    """The short path of a personal sign-in link."""
    return f"/in/{token}"


def refusal(session: Session, actor: User, user: User, operation: Operation) -> str | None:
    """Why `actor` may not make a sign-in link for `user` from this operation (None: may).

    - the person must be in the operation, active, and not an instance administrator;
    - an admin or organizer of the operation's organization may, if the person belongs to no
      other organization (an organizer may not for an admin);
    - an owner may, for someone with no organization role, every one of whose operations
      that owner owns (an owner could otherwise sign in as another owner's caller).
    """
    operations = dict(session.execute(
        select(OperationMember.operation_id, OperationMember.role)
        .where(OperationMember.user_id == user.id)).tuples().all())
    if operation.id not in operations or not user.active or user.is_instance_admin:
        return _("You cannot make a sign-in link for this person.")
    org_roles = dict(session.execute(
        select(Membership.organization_id, Membership.role)
        .where(Membership.user_id == user.id)).tuples().all())
    op_orgs = set(session.scalars(select(Operation.organization_id)
                                  .where(Operation.id.in_(operations))))
    actor_role = role_in(session, actor, operation.organization_id)
    if actor_role in (OrgRole.ADMIN, OrgRole.ORGANIZER):
        if set(org_roles) | op_orgs != {operation.organization_id}:
            return _("This person also belongs to another organization: they sign in with "
                     "a password or a link from there.")
        if org_roles.get(operation.organization_id) == OrgRole.ADMIN and \
                actor_role != OrgRole.ADMIN:
            return _("Only an admin can make a sign-in link for an admin.")
        return None
    owned = set(session.scalars(select(OperationMember.operation_id).where(
        OperationMember.user_id == actor.id, OperationMember.role == OperationRole.OWNER)))
    if operation.id not in owned:
        return _("You cannot make a sign-in link for this person.")
    if org_roles or any(role == OperationRole.OWNER for role in operations.values()) \
            or not set(operations) <= owned:
        return _("Ask an organizer: this person has access beyond the operations you own.")
    return None


def create_signin_link(
    session: Session, *, actor: User, user: User, operation: Operation,
    now: datetime | None = None,
) -> tuple[SigninLink, str]:
    """A new link for `user` and its token (shown once). Earlier unused links stop working."""
    reason = refusal(session, actor, user, operation)
    if reason:
        raise EnrollmentError(reason)
    now = now or utcnow()
    session.execute(
        update(SigninLink).where(SigninLink.user_id == user.id, SigninLink.used_at.is_(None))
        .values(expires_at=now).execution_options(synchronize_session=False))
    token, digest, _sealed = new_token()
    link = SigninLink(organization_id=operation.organization_id, operation_id=operation.id,
                      user_id=user.id, token_hash=digest, created_by_id=actor.id,
                      created_at=now, expires_at=now + SIGNIN_LINK_LIFETIME)
    session.add(link)
    session.flush()
    record_audit(session, operation.organization_id, actor.id, "signin_link.created",
                 "user", user.id, {"operation_id": operation.id, "link_id": link.id})
    return link, token


def find_signin_link(session: Session, token: str, now: datetime | None = None
                     ) -> SigninLink | None:
    """The usable (unused, unexpired) link a token opens, or None."""
    if not TOKEN_RE.match(token or ""):
        return None
    link = session.scalar(select(SigninLink).where(SigninLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or link.expires_at <= (now or utcnow()):
        return None
    return link


@dataclass(frozen=True)
class SignedIn:
    user: User
    operation_id: int | None


def use_signin_link(session: Session, token: str, now: datetime | None = None
                    ) -> SignedIn | None:
    """Burn the link and return whom it signs in (None: unknown, used, expired or inactive).

    The burn is one conditional UPDATE, so two devices racing with one link cannot both win.
    """
    now = now or utcnow()
    link = find_signin_link(session, token, now)
    if link is None or not link.user.active:
        return None
    burned = session.execute(
        update(SigninLink).where(SigninLink.id == link.id, SigninLink.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if burned.rowcount != 1:
        return None
    session.refresh(link)
    link.user.last_login_at = now
    record_audit(session, link.organization_id, link.user_id, "signin_link.used", "user",
                 link.user_id, {"link_id": link.id, "made_by": link.created_by_id})
    session.flush()
    return SignedIn(link.user, link.operation_id)
