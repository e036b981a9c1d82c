"""The telephony simulator's phone network: calls and texts on simulated phones.

Kept in the database (not in memory) so that every worker process sees the same phones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ringround.models.base import Base, TimestampMixin


class SimCall(TimestampMixin, Base):
    """A call on the simulated network and where its TwiML has brought it."""

    __tablename__ = "sim_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    parent_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(16))  # outbound-api, outbound-dial, inbound
    to_number: Mapped[str] = mapped_column(String(20), index=True)
    from_number: Mapped[str] = mapped_column(String(20))
    # queued, ringing, in-progress, completed, busy, no-answer, failed, canceled
    status: Mapped[str] = mapped_column(String(16), default="ringing")
    # Where the call is in its TwiML: talking, gather, dialing, bridged, ended.
    phase: Mapped[str] = mapped_column(String(16), default="ringing")
    answered_by: Mapped[str | None] = mapped_column(String(32))
    # url, status_callback, status_events, machine_detection, amd_callback, number_url,
    # gather {action, num_digits}, dial {action, hangup_on_star}
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transcript: Mapped[list[str]] = mapped_column(JSON, default=list)


class SimText(TimestampMixin, Base):
    """A text on the simulated network (sent by Ringround, or by a simulated phone)."""

    __tablename__ = "sim_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(16))  # outbound-api, inbound
    to_number: Mapped[str] = mapped_column(String(20), index=True)
    from_number: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    status_callback: Mapped[str | None] = mapped_column(String(500))
