"""The erasure ledger: who was erased, as keyed hashes, kept outside the database and backups.

A restored backup may hold people erased since it was made. Each erasure appends one line to
`instance/erasure-ledger.jsonl` (fsynced) with HMACs of the person's numbers and e-mail, keyed
from SECRET_KEY; after every restore the ledger is replayed and anyone matching is erased again.
The ledger holds no personal data in the clear (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from ringround.background import job_app
from ringround.keys import app_keys

LEDGER_NAME = "erasure-ledger.jsonl"


def ledger_path() -> Path:
    return Path(job_app().instance_path) / LEDGER_NAME


def _keyed(kind: str, value: str) -> str:
    message = f"{kind}:{value}".encode()
    return hmac.new(app_keys().erasure_ledger, message, hashlib.sha256).hexdigest()


def contact_hashes(numbers: Iterable[str], email: str | None) -> list[str]:
    """The keyed hashes that identify a person: each E.164 number, and the e-mail."""
    hashes = [_keyed("tel", number) for number in numbers]
    if email and email.strip():
        hashes.append(_keyed("email", email.strip().lower()))
    return hashes


def record_erasure(org_id: int, numbers: Iterable[str], email: str | None) -> None:
    """Append one erasure to the ledger and fsync it (before the erasure commits)."""
    hashes = contact_hashes(numbers, email)
    if not hashes:
        return
    line = json.dumps({"org": org_id, "hashes": hashes,
                       "at": datetime.now(UTC).isoformat()}) + "\n"
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def erased_hashes() -> dict[int, dict[str, datetime]]:
    """Per organization, each erased person's keyed hashes and when they were last erased."""
    path = ledger_path()
    erased: dict[int, dict[str, datetime]] = {}
    if not path.is_file():
        return erased
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            at = datetime.fromisoformat(entry["at"])
            org = erased.setdefault(int(entry["org"]), {})
            for digest in entry["hashes"]:
                org[digest] = max(at, org.get(digest, at))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash: the erasure it began had not committed
    return erased


def erased_before(hashes: dict[str, datetime], mine: list[str], created_at: datetime) -> bool:
    """Whether a contact created at `created_at` is someone erased later (by a hash in
    `mine`). Someone who signed up again after their erasure is a new record and is kept."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return any(digest in hashes and created_at <= hashes[digest] for digest in mine)
