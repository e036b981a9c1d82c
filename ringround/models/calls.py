"""Call attempts and their results."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ringround.models.base import Base, StrEnumType, utcnow


class CallMethod(enum.StrEnum):
    OWN_PHONE = "own_phone"  # a tel: link on the volunteer's phone
    BRIDGED = "bridged"  # the campaign line rings both sides, numbers masked
    CALL_IN = "call_in"  # the volunteer stays on the line, keypad results


class DispositionGroup(enum.StrEnum):
    CONTACTED = "contacted"
    NO_CONTACT = "no_contact"
    REMOVE = "remove"


class Attempt(Base):
    """One call of one target by one agent. A resend with the same `client_id` is a no-op."""

    __tablename__ = "attempts"
    __table_args__ = (
        # The caller app's "calls today" and the dashboard's per-agent counts.
        # (It also serves look-ups by operation alone.)
        Index("ix_attempts_agent_day", "operation_id", "agent_id", "created_at"),
        # Bridged calls only: own-phone calls (most) have no provider id and stay out of it.
        Index("uq_attempts_provider_sid", "provider_sid", unique=True,
              sqlite_where=text("provider_sid IS NOT NULL"),
              postgresql_where=text("provider_sid IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("targets.id", ondelete="SET NULL"), index=True
    )
    # Set to NULL on erasure: what stays is an anonymous count.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    method: Mapped[CallMethod] = mapped_column(
        StrEnumType(CallMethod), default=CallMethod.OWN_PHONE
    )
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    provider_status: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(64))
    disposition_group: Mapped[DispositionGroup | None] = mapped_column(
        StrEnumType(DispositionGroup)
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    field_updates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    recorded_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]
    # The number that was dialed (wrong-number marks go on it, not on the person).
    phone_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_phones.id", ondelete="SET NULL")
    )
    callback_at: Mapped[datetime | None]
    # What applying the result did (returned again on a resend) and what an edit must undo.
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
