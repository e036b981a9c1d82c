"""How many wrong call-in codes the campaign line takes before it stops checking them.

Two counts of failed code entries, in Flask-Limiter's storage (`RATELIMIT_STORAGE_URI`: Redis
where configured, so every worker and host shares them) with its moving window: one per calling
number (a keyed hash of it, never the number), one for the whole instance, whatever number
calls. The limits are `limits` strings ("5 per hour;10 per day"), from the settings
(docs/telephony.md, "Call-in mode")."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from limits import RateLimitItem, parse_many

from ringround.extensions import limiter
from ringround.optouts import optout_key

NAMESPACE = "call-in-failed-codes"


@dataclass(frozen=True)
class CodeLimits:
    """Failed code entries allowed per calling number, and for the whole instance."""

    per_number: str
    instance: str


def _number_key(remote: str) -> str:
    # A withheld caller ID arrives as one word ("anonymous"): such callers share one count.
    digest = hmac.new(optout_key(), b"call-in-caller:" + (remote or "").encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _items(spec: str) -> list[RateLimitItem]:
    return parse_many(spec) if spec.strip() else []


def _open(spec: str, *identifiers: str) -> bool:
    if not limiter.enabled:
        return True
    return all(limiter.limiter.test(item, NAMESPACE, *identifiers) for item in _items(spec))


def number_open(limits: CodeLimits, remote: str) -> bool:
    """Whether codes keyed from this number are still checked."""
    return _open(limits.per_number, "number", _number_key(remote))


def instance_open(limits: CodeLimits) -> bool:
    """Whether codes from any number are still looked up across the instance."""
    return _open(limits.instance, "instance")


def count_failure(limits: CodeLimits, remote: str) -> None:
    """One wrong (or expired) code keyed from `remote`, in both counts."""
    if not limiter.enabled:
        return
    for item in _items(limits.per_number):
        limiter.limiter.hit(item, NAMESPACE, "number", _number_key(remote))
    for item in _items(limits.instance):
        limiter.limiter.hit(item, NAMESPACE, "instance")
