"""Contacts and what hangs off them: phones, tags, households, custom fields, consents, opt-outs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ringround.models.base import Base, StrEnumType, TimestampMixin, utcnow


class PhoneLabel(enum.StrEnum):
    """What the organizer called the number."""

    MOBILE = "mobile"
    LANDLINE = "landline"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The kind of number as people read it, in the current language."""
        return str(PHONE_LABELS[self])


class PhoneStatus(enum.StrEnum):
    """A mark on the number (not the person); organizers can review and undo it."""

    OK = "ok"
    WRONG_NUMBER = "wrong_number"
    DISCONNECTED = "disconnected"

    @property
    def label(self) -> str:
        """The mark as people read it, in the current language."""
        return str(PHONE_STATUS_LABELS[self])


PHONE_LABELS = {PhoneLabel.MOBILE: _l("Mobile"), PhoneLabel.LANDLINE: _l("Landline"),
                PhoneLabel.OTHER: _l("Other phone")}
PHONE_STATUS_LABELS = {PhoneStatus.OK: _l("Usable"),
                       PhoneStatus.WRONG_NUMBER: _l("Wrong number"),
                       PhoneStatus.DISCONNECTED: _l("Disconnected")}


# WITHOUT ROWID on SQLite: the rows live in their primary key's B-tree, instead of a rowid
# table plus that key's index (one B-tree less to write per tagged contact).
contact_tags = Table(
    "contact_tags",
    Base.metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
    sqlite_with_rowid=False,
)


class Household(Base):
    """Contacts who share an address (or a household id from the import)."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))


class Tag(Base):
    """A label an organizer puts on contacts."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))


class Contact(TimestampMixin, Base):
    """A person to be called."""

    __tablename__ = "contacts"
    # Also the index of organization_id alone (its prefix), for look-ups and cascades.
    __table_args__ = (Index("ix_contacts_org_email", "organization_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(320))
    street: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(12))
    date_of_birth: Mapped[date | None]
    time_zone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(120))
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    # The user record of a volunteer who is also a contact: agents never get themselves.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    phones: Mapped[list[ContactPhone]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactPhone.position"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=contact_tags)
    household: Mapped[Household | None] = relationship()
    consents: Mapped[list[Consent]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class ContactPhone(Base):
    """One number of a contact, in E.164. A number belongs to one contact per organization."""

    __tablename__ = "contact_phones"
    __table_args__ = (UniqueConstraint("organization_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20))
    extension: Mapped[str | None] = mapped_column(String(10))
    label: Mapped[PhoneLabel] = mapped_column(StrEnumType(PhoneLabel), default=PhoneLabel.OTHER)
    is_mobile: Mapped[bool] = mapped_column(default=False)
    country: Mapped[str | None] = mapped_column(String(2))
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[PhoneStatus] = mapped_column(StrEnumType(PhoneStatus), default=PhoneStatus.OK)

    contact: Mapped[Contact] = relationship(back_populates="phones")


class CustomFieldType(enum.StrEnum):
    """The type of an organization-defined contact field."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


class CustomField(Base):
    """A contact field an organization defines (e.g. `voted`, `donations`)."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[CustomFieldType] = mapped_column(
        StrEnumType(CustomFieldType), default=CustomFieldType.TEXT
    )
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Some fields (donations, say) must never be editable by callers.
    never_editable: Mapped[bool] = mapped_column(default=False)


class Consent(Base):
    """What a contact agreed to, when, and how (the exact text shown)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # call, sms, email
    granted: Mapped[bool] = mapped_column(default=True)
    text: Mapped[str] = mapped_column(Text)
    text_version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(120))  # import, form:<id>, sms:<keyword>
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="consents")


class OptOut(Base):
    """A number that must not be called or texted, kept as a keyed hash so it outlives erasure."""

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("organization_id", "phone_hmac"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    phone_hmac: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))  # sms_stop, disposition, organizer, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextOptOut(Base):
    """A number that must not be texted, though it may still be called: the carrier said the
    person unsubscribed from this sender's texts (Twilio error 21610). Kept as an `OptOut` is."""

    __tablename__ = "text_opt_outs"
    __table_args__ = (UniqueConstraint("organization_id", "phone_hmac"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    phone_hmac: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))  # carrier_21610, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedList(TimestampMixin, Base):
    """A named, saved filter over an organization's contacts."""

    __tablename__ = "saved_lists"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
