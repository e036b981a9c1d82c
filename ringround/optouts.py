"""Opt-outs: numbers that must never be called or texted again, organization-wide.

Numbers are kept as a keyed hash (HMAC-SHA256 with a server secret), not in the clear and not
as a plain hash (a plain hash of a phone number is trivially reversed by trying every number).
So an opt-out outlives the erasure of the person, and a re-imported number stays suppressed.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.keys import app_keys
from ringround.models import OptOut


def optout_key() -> bytes:
    """The HMAC key, derived from the app's SECRET_KEY (so it needs no extra setting)."""
    return app_keys().optout


def phone_hmac(e164: str, key: bytes | None = None) -> str:
    """The keyed hash of an E.164 number, as 64 hex characters."""
    return hmac.new(key or optout_key(), e164.encode(), hashlib.sha256).hexdigest()


def opt_out_number(session: Session, org_id: int, e164: str, source: str) -> bool:
    """Record that `e164` must not be contacted by `org_id`. True if it is new."""
    digest = phone_hmac(e164)
    exists = session.scalar(select(OptOut.id).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac == digest))
    if exists:
        return False
    session.add(OptOut(organization_id=org_id, phone_hmac=digest, source=source))
    session.flush()
    return True


def opt_in_number(session: Session, org_id: int, e164: str) -> bool:
    """Lift an opt-out (the person texted START). True if there was one."""
    row = session.scalar(select(OptOut).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac == phone_hmac(e164)))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def is_opted_out(session: Session, org_id: int, e164: str) -> bool:
    return session.scalar(select(OptOut.id).where(
        OptOut.organization_id == org_id, OptOut.phone_hmac == phone_hmac(e164))) is not None
