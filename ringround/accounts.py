"""Organizations and accounts: first-run set-up, sign-in, organizers, membership checks."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ringround.audit import record_audit
from ringround.models import Membership, Organization, OrgRole, User, utcnow
from ringround.organizations import check_country, check_zone

# Werkzeug's scrypt (n=2**15, r=8, p=1): a memory-hard KDF from the standard library.
PASSWORD_METHOD = "scrypt"  # noqa: S105 - a method name, not a password
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request that cannot be honoured, with a message fit to show the user."""


def slugify(name: str) -> str:
    """A URL-safe slug from an organization's name ("Les Verts – Lyon" -> "les-verts-lyon")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64] or "org"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Passwords need at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    return generate_password_hash(password, method=PASSWORD_METHOD)


def is_fresh_instance(session: Session) -> bool:
    """True until the first organization exists: the first visitor may then set one up."""
    return session.scalar(select(func.count(Organization.id))) == 0


def unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while session.scalar(select(Organization.id).where(Organization.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_organization(
    session: Session, *, name: str, admin: User, default_region: str = "US",
    time_zone: str = "UTC",
) -> Organization:
    """A new organization with `admin` as its administrator."""
    name = name.strip()
    if not name:
        raise AccountError(_("The organization needs a name."))
    org = Organization(
        name=name, slug=unique_slug(session, name), default_region=default_region,
        time_zone=time_zone,
    )
    session.add(org)
    session.add(Membership(organization=org, user=admin, role=OrgRole.ADMIN))
    session.flush()
    record_audit(session, org.id, admin.id, "organization.created", "organization", org.id)
    return org


def create_password_user(
    session: Session, *, email: str, password: str, display_name: str | None = None
) -> User:
    """A user who signs in with email and password."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(_("Please give a valid email address."))
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(_("An account with this email already exists."))
    user = User(
        email=email, password_hash=hash_password(password),
        display_name=(display_name or email.split("@")[0]).strip(),
    )
    session.add(user)
    session.flush()
    return user


def set_up_instance(
    session: Session, *, org_name: str, email: str, password: str, display_name: str | None = None,
    country: str = "US", time_zone: str = "UTC",
) -> tuple[Organization, User]:
    """First run: the first organization (with its country and time zone) and its admin.
    Refused once any organization exists. A bad country or zone raises `SettingsError`."""
    if not is_fresh_instance(session):
        raise AccountError(_("This Ringround is already set up. Please sign in."))
    country, time_zone = check_country(country), check_zone(time_zone)
    user = create_password_user(session, email=email, password=password, display_name=display_name)
    user.is_instance_admin = True
    org = create_organization(session, name=org_name, admin=user, default_region=country,
                              time_zone=time_zone)
    return org, user


def may_create_organizations(user: User, open_to_everyone: bool) -> bool:
    """Instance administrators create organizations; everyone signed in may when the instance
    opens it (ORGANIZATIONS_OPEN_TO_ALL)."""
    return bool(user.is_authenticated and (user.is_instance_admin or open_to_everyone))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same answer for both errors)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.password_hash or not user.active:
        # Spend the same time as a real check so timing does not reveal which emails exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


# A hash of nothing anyone knows, with PASSWORD_METHOD's parameters, so that checking it costs
# what a real check does. Written out rather than computed: computing it cost every web
# worker half a second of CPU at start-up (slower restarts; tests/core/test_accounts.py
# checks the parameters still match).
_DUMMY_HASH = ("scrypt:32768:8:1$mHwjueU6OSbsxdHB$c6b429536d18ceec5e76dde6afcfbf9d2fe866eb7a4"
               "1c58f0d52ed9ae65f0f4d305bc248c2cfd3b7caacedea80d796a11676b4bac0f16d55cf49959"
               "23a90d5e4")


def needs_password(session: Session, user: User) -> bool:
    """Organizers and admins without a password: they are asked to set one (a phone alone must
    never be how an organization is entered where no SMS can verify it)."""
    if not getattr(user, "is_authenticated", False) or user.password_hash:
        return False
    return session.scalar(select(Membership.id).where(Membership.user_id == user.id)
                          .limit(1)) is not None


def set_password(session: Session, user: User, *, password: str, email: str | None = None
                 ) -> None:
    """Give a (phone-only) account a password, and an email to sign in with if it has none."""
    if not user.email:
        email = normalize_email(email or "")
        if "@" not in email or len(email) > 320:
            raise AccountError(_("Please give a valid email address."))
        if session.scalar(select(User.id).where(User.email == email, User.id != user.id)):
            raise AccountError(_("An account with this email already exists."))
        user.email = email
    user.password_hash = hash_password(password)
    session.flush()
    record_audit(session, None, user.id, "user.password_set", "user", user.id)


def end_all_sessions(session: Session, user: User) -> None:
    """Sign `user` out on every device: sessions and remember cookies carry the old version.

    Incremented in SQL, so two sign-outs at once both count.
    """
    user.session_version = User.session_version + 1
    session.flush()


def role_in(session: Session, user: User, org_id: int) -> OrgRole | None:
    """The user's role in an organization, or None when not a member."""
    return session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.organization_id == org_id
        )
    )


def organizations_of(session: Session, user: User) -> list[tuple[Organization, OrgRole]]:
    rows = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name)
    )
    return [(org, role) for org, role in rows]


def add_organizer(
    session: Session, *, org: Organization, actor: User, email: str, password: str | None,
    display_name: str | None = None, role: OrgRole = OrgRole.ORGANIZER,
) -> User:
    """Add a member by email: an existing user joins, a new one is created with the password."""
    email = normalize_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        if not password:
            raise AccountError(_("A new organizer needs a first password."))
        user = create_password_user(
            session, email=email, password=password, display_name=display_name
        )
    elif role_in(session, user, org.id) is not None:
        raise AccountError(_("This person is already a member of the organization."))
    session.add(Membership(organization_id=org.id, user_id=user.id, role=role))
    session.flush()
    record_audit(
        session, org.id, actor.id, "member.added", "user", user.id, {"role": role.value}
    )
    return user
