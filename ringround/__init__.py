"""Ringround: open-source phone banking for campaigns, unions and activist groups."""

from ringround.app import create_app

__all__ = ["create_app"]
