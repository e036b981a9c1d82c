"""Loading the signed-in user for Flask-Login."""

from __future__ import annotations

from ringround.extensions import db
from ringround.models import User


def load_user(session_id: str) -> User | None:
    """The user behind a session id `"<id>:<version>"`; a stale version means signed out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user
