"""Calls through the campaign line, as the caller app asks for them.

The caller app needs three things of the phone network: place a call for a card, say how it
stands, and find the last one placed for a card; the people page also needs the number
volunteers dial to call in. They ask them of `campaign_line()`, which the telephony package
(`sms`) registers when its blueprint is registered, so no other blueprint imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from ringround.models import Operation, User


class BridgeError(Exception):
    """A bridged call that cannot be placed; the message is fit to show the caller."""


@dataclass(frozen=True)
class BridgeProgress:
    """Where a tap on "call through the campaign line" stands, for the volunteer."""

    ok: bool
    pending: bool
    message: str


class CampaignLine(Protocol):
    """What the telephony package offers the caller app (see `sms.voice.bridge.SmsCampaignLine`)."""

    def place(self, session: Session, operation: Operation, agent: User, target_id: int,
              client_id: str) -> object:
        """Record the attempt and its call, to be placed by a job once the caller commits;
        returns the call (for `progress`). Raises BridgeError with words for the caller."""

    def progress(self, session: Session, call: object) -> BridgeProgress:
        """How the call returned by `place` stands now (after the caller's commit)."""

    def last(self, session: Session, operation_id: int, agent_id: int, target_id: int,
             client_id: str) -> BridgeProgress | None:
        """How the latest call this agent placed for this card stands; None if none."""

    def number(self, session: Session, operation: Operation) -> str | None:
        """The number volunteers dial to call in for this operation (None: none set up)."""


_line: CampaignLine | None = None


def register_campaign_line(line: CampaignLine) -> None:
    """Called by the telephony package when it is registered on an app."""
    global _line
    _line = line


def campaign_line() -> CampaignLine:
    """The registered campaign line (the app registers the telephony package at start)."""
    if _line is None:
        raise RuntimeError("no campaign line registered: register the sms blueprint first")
    return _line
