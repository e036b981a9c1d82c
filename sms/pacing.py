"""Pacing calls and texts by the queue: a job takes a slot or is tried again when one frees.

The provider's limits (docs/telephony.md): calls per second per account, texts per second per
sending number. Slots are counted in the queue's storage (Huey's rate limit, a fixed window),
so every worker on every host shares them; a job without a slot raises `RetryTask` with the
time left in the window, which does not use up its retries. Nothing sleeps.
"""

from __future__ import annotations

from huey.exceptions import RateLimitExceeded, RetryTask

from ringround.background import huey


def window(per_second: float) -> tuple[int, int]:
    """(how many, per how many seconds) for a rate like 1, 5 or 0.5 per second."""
    if per_second >= 1:
        return int(per_second), 1
    return 1, max(1, round(1 / per_second))


def take_slot(name: str, per_second: float) -> None:
    """Take one slot of `name`'s rate, or raise RetryTask to run again when the window ends."""
    limit, per = window(per_second)
    try:
        huey.rate_limit(f"pace:{name}", limit, per).acquire()
    except RateLimitExceeded as full:
        raise RetryTask(delay=full.delay) from None
