"""Ringround: open-source phone banking for campaigns, unions and activist groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ringround.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str):
    # Lazy, so that import worker processes (ringround.people.normalize) load phonenumbers
    # without Flask and SQLAlchemy: tens of MB less per worker.
    if name == "create_app":
        from ringround.app import create_app

        return create_app
    raise AttributeError(name)
