"""The organizer console's navigation. Feature blueprints add their entries here."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import LazyString
from flask_login import current_user

from ringround.accounts import needs_password
from ringround.extensions import db


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: LazyString | str


CONSOLE_NAV: list[NavItem] = []


def add_console_nav(endpoint: str, label: LazyString | str) -> None:
    """Add a console navigation entry (once)."""
    if all(item.endpoint != endpoint for item in CONSOLE_NAV):
        CONSOLE_NAV.append(NavItem(endpoint, label))


def console_nav() -> list[dict[str, str]]:
    return [{"url": url_for(item.endpoint), "label": str(item.label)} for item in CONSOLE_NAV]


def password_prompt() -> bool:
    """Whether this page should ask the signed-in organizer to set a password."""
    return needs_password(db.session, current_user)
