"""The organizer console's navigation. Feature blueprints add their entries here."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from flask import url_for
from flask_babel import LazyString
from flask_login import current_user

from ringround.accounts import needs_password
from ringround.extensions import db
from ringround.models import OrgRole
from web.context import current_role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: LazyString | str
    roles: frozenset[OrgRole] | None = None  # None: every member of the organization


CONSOLE_NAV: list[NavItem] = []


def add_console_nav(endpoint: str, label: LazyString | str,
                    roles: Collection[OrgRole] | None = None) -> None:
    """Add a console navigation entry (once), for members holding one of `roles` (all)."""
    if all(item.endpoint != endpoint for item in CONSOLE_NAV):
        CONSOLE_NAV.append(NavItem(endpoint, label, frozenset(roles) if roles else None))


def is_staff() -> bool:
    """Whether the signed-in user holds a role in the current organization: the console's
    menu is theirs. A volunteer or an operation's owner who joined by link has none, and every
    console link would answer them 403."""
    return current_user.is_authenticated and current_role() is not None


def console_nav() -> list[dict[str, str]]:
    """The console's entries added by the feature blueprints, for staff only."""
    if not is_staff():
        return []
    role = current_role()
    return [{"url": url_for(item.endpoint), "label": str(item.label)} for item in CONSOLE_NAV
            if item.roles is None or role in item.roles]


def may_open(endpoint: str) -> bool:
    """Whether the menu offers this entry to the signed-in member (a page's link to it)."""
    item = next((i for i in CONSOLE_NAV if i.endpoint == endpoint), None)
    return item is not None and is_staff() and (item.roles is None
                                                 or current_role() in item.roles)


def password_prompt() -> bool:
    """Whether this page should ask the signed-in organizer to set a password."""
    return needs_password(db.session, current_user)
