"""Call operations, their members and their targets."""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ringround.models.base import Base, StrEnumType, TimestampMixin, utcnow


class OperationState(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"

    @property
    def label(self) -> str:
        """The state as people read it, in the current language."""
        return str(OPERATION_STATE_LABELS[self])


class OperationMode(enum.StrEnum):
    SIMPLE = "simple"  # script, contact and result on one screen
    GUIDED = "guided"  # one question at a time, following branches


class OperationRole(enum.StrEnum):
    OWNER = "owner"
    AGENT = "agent"

    @property
    def label(self) -> str:
        """The role as people read it, in the current language."""
        return str(OPERATION_ROLE_LABELS[self])


OPERATION_STATE_LABELS = {
    OperationState.DRAFT: _l("Draft"), OperationState.ACTIVE: _l("Active"),
    OperationState.PAUSED: _l("Paused"), OperationState.ENDED: _l("Ended"),
}
OPERATION_ROLE_LABELS = {OperationRole.OWNER: _l("Owner"), OperationRole.AGENT: _l("Agent")}


class TargetState(enum.StrEnum):
    WAITING = "waiting"
    LEASED = "leased"
    DONE = "done"
    REMOVED = "removed"


def _default_retry_rules() -> dict[str, Any]:
    # Here, not at the top: operation_rules reads the models (dispositions' groups), so the
    # models cannot load it while they are being defined.
    from ringround.operation_rules import default_retry_rules_json

    return default_retry_rules_json()


class Operation(TimestampMixin, Base):
    """A call operation: who to call, with what script, under which rules, by whom."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[OperationState] = mapped_column(
        StrEnumType(OperationState), default=OperationState.DRAFT
    )
    mode: Mapped[OperationMode] = mapped_column(
        StrEnumType(OperationMode), default=OperationMode.SIMPLE
    )
    source_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("saved_lists.id", ondelete="SET NULL")
    )
    source_filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    window_start: Mapped[time] = mapped_column(default=time(9, 0))
    window_end: Mapped[time] = mapped_column(default=time(21, 0))
    weekdays: Mapped[str] = mapped_column(String(7), default="0123456")  # Monday is 0
    allow_own_phone: Mapped[bool] = mapped_column(default=True)
    allow_campaign_line: Mapped[bool] = mapped_column(default=False)
    script: Mapped[str] = mapped_column(Text, default="")
    questionnaire: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dispositions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retry_rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=_default_retry_rules)
    exclusions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    field_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    voicemail_policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cooldown_minutes: Mapped[int] = mapped_column(default=0)
    max_calls_per_person: Mapped[int | None]
    campaign_number: Mapped[str | None] = mapped_column(String(20))
    # The distinct time zones of this operation's targets, kept by `materialize_targets`: the
    # queue computes which of them are inside the calling window now and filters on them.
    time_zones: Mapped[list[str]] = mapped_column(JSON, default=list)

    members: Mapped[list[OperationMember]] = relationship(
        back_populates="operation", cascade="all, delete-orphan"
    )


class OperationMember(TimestampMixin, Base):
    """A user's role in one operation, with tags that steer which targets they get."""

    __tablename__ = "operation_members"
    __table_args__ = (UniqueConstraint("operation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[OperationRole] = mapped_column(
        StrEnumType(OperationRole), default=OperationRole.AGENT
    )
    prefer_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    avoid_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    joined_via_link_id: Mapped[int | None]

    operation: Mapped[Operation] = relationship(back_populates="members")


class OperationRemoval(Base):
    """Someone an organizer or owner took out of an operation: no link lets them back in
    until someone adds them back (which deletes this row)."""

    __tablename__ = "operation_removals"
    __table_args__ = (UniqueConstraint("operation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Target(Base):
    """One contact inside one operation, with its own state in the queue.

    What the queue's hot path needs is denormalized here (time zone, attempts, last attempt,
    next eligible time) so that choosing the next target is one index probe per time zone.
    """

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("operation_id", "contact_id"),
        # Counts by state and reason (the dashboard): an index-only scan.
        Index("ix_targets_queue", "operation_id", "state", "reason", "time_zone",
              "next_eligible_at"),
        # Choosing the next target: waiting targets of one operation and time zone, in call
        # order (fewest attempts, longest since the last one). Partial, so it only holds the
        # waiting rows; next_eligible_at rides along so it is checked without a table lookup.
        Index(
            "ix_targets_ready", "operation_id", "time_zone", "attempts", "last_attempt_at",
            "id", "next_eligible_at",
            sqlite_where=text("state = 'waiting'"), postgresql_where=text("state = 'waiting'"),
        ),
        # Leases: an agent's held leases, and the sweep of expired ones. Partial, so a target
        # enters it when leased and leaves it with its result (no index change otherwise).
        Index(
            "ix_targets_leased", "operation_id", "leased_to_id", "lease_expires_at",
            sqlite_where=text("state = 'leased'"), postgresql_where=text("state = 'leased'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[TargetState] = mapped_column(
        StrEnumType(TargetState), default=TargetState.WAITING
    )
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    attempts: Mapped[int] = mapped_column(default=0)
    next_eligible_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    leased_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    leased_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    # Why the target is done, removed or waiting longer (see ringround.queue.reasons).
    reason: Mapped[str | None] = mapped_column(String(64))
    # Retries used so far, per disposition code: {"no_answer": 2}.
    retry_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # A done-condition with "reselect after N days" puts the target back in line then.
    reselect_at: Mapped[datetime | None]


class LeaseGrant(Base):
    """One lease as it was granted: a person shown to an agent. A target keeps only its
    current lease; these rows remember them all for a while, so that how many people an
    agent saw is counted in the database (across workers), and a lease proof holds only
    while its own lease lives (not after it was handed back or given to someone else)."""

    __tablename__ = "lease_grants"
    __table_args__ = (
        # How many people this agent saw in the operation lately (the limits, the alerts).
        Index("ix_lease_grants_agent", "operation_id", "agent_id", "granted_at"),
        # The leases of one target, latest last (the proof of a result).
        Index("ix_lease_grants_target", "target_id", "granted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # When the agent gave the person back, and how (`skip`, `return`, `logout`).
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(16))
