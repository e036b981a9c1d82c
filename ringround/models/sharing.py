"""Join links (and who joined through them), public sign-up forms, phone verification codes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ringround.models.accounts import Organization, User
from ringround.models.base import Base, StrEnumType, TimestampMixin, utcnow
from ringround.models.operations import Operation


class LinkRole(enum.StrEnum):
    """The role a join link gives: agent or owner of an operation, organizer of an organization."""

    AGENT = "agent"
    OWNER = "owner"
    ORGANIZER = "organizer"

    @property
    def label(self) -> str:
        """The role as people read it, in the current language."""
        return str(LINK_ROLE_LABELS[self])


LINK_ROLE_LABELS = {LinkRole.AGENT: _l("Agent"), LinkRole.OWNER: _l("Owner"),
                    LinkRole.ORGANIZER: _l("Organizer")}


class JoinLink(TimestampMixin, Base):
    """A secret URL that enrolls whoever opens it, with one role, into an operation or org.

    Only a SHA-256 of the token is looked up. `token_sealed` is the token XOR a pad keyed by
    the app's SECRET_KEY, so owners can show the link again while the database alone reveals
    nothing (see ringround/enrollment.py).
    """

    __tablename__ = "join_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # NULL: an organization link (role organizer).
    operation_id: Mapped[int | None] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[LinkRole] = mapped_column(StrEnumType(LinkRole), default=LinkRole.AGENT)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120), default="")
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    organization: Mapped[Organization] = relationship()
    operation: Mapped[Operation | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    joins: Mapped[list[JoinLinkUse]] = relationship(
        back_populates="link", cascade="all, delete-orphan", order_by="JoinLinkUse.joined_at"
    )


class JoinLinkUse(Base):
    """Who joined through which link, and when (owners see this per link)."""

    __tablename__ = "join_link_uses"
    __table_args__ = (UniqueConstraint("link_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("join_links.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    link: Mapped[JoinLink] = relationship(back_populates="joins")
    user: Mapped[User] = relationship()


class SignupForm(TimestampMixin, Base):
    """A public page (and optionally an SMS keyword) where people leave their details."""

    __tablename__ = "signup_forms"
    __table_args__ = (UniqueConstraint("organization_id", "sms_keyword"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    # {"first_name": "required", "email": "optional", ...}; a field not listed is not asked.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    consent_version: Mapped[int] = mapped_column(default=1)
    privacy_url: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    thank_you: Mapped[str] = mapped_column(Text, default="")
    operation_id: Mapped[int | None] = mapped_column(
        ForeignKey("operations.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(12), default="en")
    # Texting this word to the campaign number starts the same sign-up (the telephony part).
    sms_keyword: Mapped[str | None] = mapped_column(String(32))
    kiosk: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    submissions: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    organization: Mapped[Organization] = relationship()
    operation: Mapped[Operation | None] = relationship()


class PhoneCode(Base):
    """A one-time code texted to a phone number: kept as a keyed hash, expiring, attempt-limited."""

    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # join, signin
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class SigninLink(Base):
    """A personal, one-time, short-lived sign-in link an organizer or owner made for someone.

    Only the token's SHA-256 is kept; the token is shown once, to whoever made the link.
    """

    __tablename__ = "signin_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    operation_id: Mapped[int | None] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
