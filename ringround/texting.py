"""What the rest of Ringround may ask of the telephony package: text one number, and
whether texts go to the simulator. A port: `sms` registers its implementation when the app
starts (`sms.register`), so that sign-in codes (`sharing`) need not import `sms`."""

from __future__ import annotations

from typing import Protocol


class Texting(Protocol):
    """Texts of no campaign (sign-in codes), through the app's telephony provider."""

    def is_simulated(self) -> bool:
        """True when texts go to the simulator rather than a real network."""
        ...

    def send_now(self, to: str, body: str) -> None:
        """Text `to` here and now; raises when the provider cannot."""
        ...

    def send_later(self, to: str, body: str) -> None:
        """Text `to` from a job, tried again while the provider is unreachable."""
        ...


_registered: list[Texting] = []


def register_texting(texting: Texting) -> None:
    """Make `texting` the one implementation (the telephony package, at start)."""
    _registered[:] = [texting]


def texting() -> Texting:
    """The registered implementation; RuntimeError before the app registered one."""
    if not _registered:
        raise RuntimeError("No telephony package registered: create_app() first.")
    return _registered[0]
