"""The telephony package's side of `ringround.texting`: texts of no campaign through the
app's provider (`get_provider`), later ones by the `text_now` job, their words sealed
(`ringround.sealed`: a sign-in code must not rest readable in the queue)."""

from __future__ import annotations

from ringround.sealed import seal
from sms.outbound import text_now
from sms.provider import get_provider, is_simulated


class ProviderTexting:
    """`ringround.texting.Texting` over the app's telephony provider."""

    def is_simulated(self) -> bool:
        return is_simulated()

    def send_now(self, to: str, body: str) -> None:
        get_provider().send_sms(to, body)

    def send_later(self, to: str, body: str) -> None:
        text_now(to, seal(body))
