"""Keyword sign-up by SMS (filled in when sign-up forms exist)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ringround.models import Organization


def continue_conversation(session: Session, org: Organization, remote: str,
                          body: str) -> list[str]:
    """Continue the person's sign-up conversation, or start one from a keyword."""
    return []
