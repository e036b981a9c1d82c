"""Organizations, users and their memberships."""

from __future__ import annotations

import enum
from datetime import datetime, time

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ringround.models.base import Base, StrEnumType, TimestampMixin


class OrgRole(enum.StrEnum):
    """What a member may do in an organization."""

    ADMIN = "admin"
    ORGANIZER = "organizer"

    @property
    def label(self) -> str:
        """The role as people read it, in the current language."""
        return str(ORG_ROLE_LABELS[self])


ORG_ROLE_LABELS = {OrgRole.ADMIN: _l("Admin"), OrgRole.ORGANIZER: _l("Organizer")}


class Organization(TimestampMixin, Base):
    """A tenant: a campaign, union or group."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The organization's country (ISO 3166 alpha-2): the region of national numbers
    # (`ringround.organizations.default_region`).
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    # IANA zone of dates in forms and of "today" on dashboards.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    help_text: Mapped[str | None] = mapped_column(String(320))
    # Calling hours new operations start with.
    default_window_start: Mapped[time] = mapped_column(
        default=time(9, 0), server_default=text("'09:00:00'"))
    default_window_end: Mapped[time] = mapped_column(
        default=time(21, 0), server_default=text("'21:00:00'"))
    # The organization's phone number on the telephony provider (E.164); an operation's own
    # `campaign_number` wins over it.
    # Unique across the instance, so an inbound text or call has exactly one organization.
    campaign_number: Mapped[str | None] = mapped_column(String(20), index=True, unique=True)
    # No two calls to the same person within this gap, across all the organization's
    # operations (so overlapping lists never produce "you already called me").
    call_gap_minutes: Mapped[int] = mapped_column(default=24 * 60)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )


class User(UserMixin, TimestampMixin, Base):
    """A person who signs in: organizers by email and password, volunteers by phone alone."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(12), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    # Instance administrators may create organizations (the first-run user is one).
    is_instance_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_login_at: Mapped[datetime | None]
    # Changing it signs the user out everywhere (it is part of the session id).
    session_version: Mapped[int] = mapped_column(default=1)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class Membership(TimestampMixin, Base):
    """A user's role in one organization."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[OrgRole] = mapped_column(StrEnumType(OrgRole))

    organization: Mapped[Organization] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")
