"""Every key Ringround derives from SECRET_KEY, one per purpose, so that no two uses share a
key and none needs a setting of its own (HMAC-SHA256 of a purpose label, keyed by the
secret). Derived once when the app starts: `create_app` installs them (`install_keys`) and
the core reads them with `app_keys()`, never the secret or the app itself. Like the job
queue's app, they are the process's: one app per process (a web worker, a `flask worker`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


def _derive(secret: str, purpose: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def join_seal_key(secret: str) -> bytes:
    """Seals join tokens, so that owners can show a link again (`enrollment.link_token`)."""
    return _derive(secret, b"ringround-join-seal-v1")


def phone_code_key(secret: str) -> bytes:
    """Hashes the codes texted to verify a phone number (`enrollment`)."""
    return _derive(secret, b"ringround-phone-code-v1")


def optout_key(secret: str) -> bytes:
    """Hashes opted-out numbers (and call-in codes), which outlive erasure (`optouts`)."""
    return _derive(secret, b"ringround-optout-v1")


def household_key(secret: str) -> bytes:
    """Hashes household addresses (`people.merge`, imports)."""
    return _derive(secret, b"ringround-household-v1")


def erasure_ledger_key(secret: str) -> bytes:
    """Hashes the numbers and e-mails of erased people in the ledger (`erasure_ledger`)."""
    return _derive(secret, b"ringround-erasure-ledger-v1")


def lease_proof_key(secret: str) -> bytes:
    """Signs the lease proof given with each card of the caller app."""
    return _derive(secret, b"ringround-lease-proof-v1")


def job_seal_key(secret: str) -> bytes:
    """Seals job arguments that must not rest readable in the queue (`sealed`)."""
    return _derive(secret, b"ringround-job-seal-v1")


@dataclass(frozen=True)
class Keys:
    """The app's keys, one per purpose (see the functions above)."""

    join_seal: bytes
    phone_code: bytes
    optout: bytes
    household: bytes
    erasure_ledger: bytes
    lease_proof: bytes
    job_seal: bytes


def derive_keys(secret: str) -> Keys:
    """Every key, from the app's SECRET_KEY."""
    return Keys(join_seal=join_seal_key(secret), phone_code=phone_code_key(secret),
                optout=optout_key(secret), household=household_key(secret),
                erasure_ledger=erasure_ledger_key(secret), lease_proof=lease_proof_key(secret),
                job_seal=job_seal_key(secret))


_installed: list[Keys] = []


def install_keys(keys: Keys) -> None:
    """Make `keys` the process's (the app factory, once the settings are read)."""
    _installed[:] = [keys]


def app_keys() -> Keys:
    """The keys installed by `create_app`; RuntimeError before."""
    if not _installed:
        raise RuntimeError("No keys installed: create_app() first.")
    return _installed[0]
