"""What crosses the phone network: texts, calls (legs), provider events, SMS conversations,
follow-up templates, and call-in codes and shifts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ringround.models.base import Base, StrEnumType, TimestampMixin, utcnow


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Message(TimestampMixin, Base):
    """One text sent or received. `sid` is the provider's id (set once it is known)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    direction: Mapped[Direction] = mapped_column(StrEnumType(Direction))
    remote_e164: Mapped[str] = mapped_column(String(20), index=True)
    campaign_number: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    # login_code, followup, reply, signup, optout, help, ...
    kind: Mapped[str] = mapped_column(String(32), default="text")
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="queued")
    error_code: Mapped[int | None]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("followup_templates.id", ondelete="SET NULL")
    )


class ProviderEvent(Base):
    """A webhook already handled, keyed by the provider's SID and the kind of event, and the
    outbox of the work that follows one (sms/jobs.py).

    Twilio retries webhooks; the unique key makes the second delivery a no-op. A row with a
    `job` is work to do after the webhook's commit: it counts as done only when `handled_at`
    is set, in the job's own transaction.
    """

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("sid", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    job: Mapped[str | None] = mapped_column(String(120))
    args: Mapped[list[Any] | None] = mapped_column(JSON)
    handled_at: Mapped[datetime | None] = mapped_column(index=True)
    enqueued_at: Mapped[datetime | None]
    # How many times the periodic sweep enqueued it again (it stops after a few).
    sweeps: Mapped[int] = mapped_column(default=0, server_default="0")


class LegKind(enum.StrEnum):
    BRIDGE_AGENT = "bridge_agent"  # the campaign line rings the agent's own phone
    BRIDGE_CONTACT = "bridge_contact"  # ... then dials the contact into that call
    CALL_IN = "call_in"  # a volunteer's call-in shift
    CALL_IN_CONTACT = "call_in_contact"  # a contact dialled into a call-in shift
    CALLBACK = "callback"  # a contact calling the campaign number back


class CallLeg(TimestampMixin, Base):
    """One phone call on the provider. URLs name it by `token`, never by a phone number."""

    __tablename__ = "call_legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[LegKind] = mapped_column(StrEnumType(LegKind))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    operation_id: Mapped[int | None] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), index=True
    )
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("call_legs.id", ondelete="CASCADE"))
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="queued")
    # The provider's number of the status callback last applied (Twilio: SequenceNumber).
    status_sequence: Mapped[int | None]
    answered_by: Mapped[str | None] = mapped_column(String(32))
    # The provider's error number when it refused the call (21211, 21214, 20429...).
    error_code: Mapped[int | None]
    # call_in: the result being keyed in ({"group": ..., "answers": {...}, "question": n}).
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ended_at: Mapped[datetime | None]
    # callback: set when an owner has dealt with a missed call back.
    handled_at: Mapped[datetime | None]


class ConversationState(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Conversation(TimestampMixin, Base):
    """An SMS conversation in progress (keyword sign-up): which field is asked next."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    remote_e164: Mapped[str] = mapped_column(String(20), index=True)
    form_id: Mapped[int | None]
    keyword: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(12), default="en")
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # still to ask, in order
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[ConversationState] = mapped_column(
        StrEnumType(ConversationState), default=ConversationState.OPEN
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]


class FollowUpTemplate(TimestampMixin, Base):
    """A text an organizer writes (e.g. the event link) that an agent sends with one tap."""

    __tablename__ = "followup_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    operation_id: Mapped[int | None] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(String(640))
    active: Mapped[bool] = mapped_column(default=True)


class CallInCode(Base):
    """A volunteer's keypad code for call-in mode in one operation (stored as a keyed hash).

    Valid until `expires_at` (ringround/call_in_codes.py: a lifetime from when it was issued or
    last started a shift, never past the operation's end)."""

    __tablename__ = "call_in_codes"
    __table_args__ = (UniqueConstraint("operation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
