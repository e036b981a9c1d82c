"""Benchmark: back up and restore an instance holding N contacts (SQLite by default).

    python bench/backup.py --contacts 100000 [--database sqlite|postgresql] [--passphrase X]

Contacts (each with one mobile number and an e-mail) are written by bulk SQL, not the import
(that is bench/import_contacts.py). Prints one JSON line: contacts, database, backup_s,
backup_mb, restore_s (into an empty instance, migrations and erasure-ledger replay included),
and the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# As a script, bench/ comes first on sys.path, where queue.py (the queue benchmark) would
# hide the standard library's queue module from psycopg: the repository root replaces it.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from ringround import create_app  # noqa: E402
from ringround.backups import create_backup, restore_backup  # noqa: E402
from ringround.extensions import db  # noqa: E402
from ringround.models import Contact, ContactPhone, Organization, PhoneLabel  # noqa: E402
from ringround.throwaway_postgres import ThrowawayPostgres  # noqa: E402

SECRET = "bench-secret"


def _app(url: str, instance: Path):
    return create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url},
                      instance_path=str(instance))


def _fill(n: int) -> None:
    upgrade()
    org = Organization(name="Bench", slug="bench")
    db.session.add(org)
    db.session.commit()
    rng = random.Random(1)
    chunk = 20_000
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        db.session.execute(insert(Contact), [
            {"organization_id": org.id, "first_name": f"Person{start + i}",
             "last_name": rng.choice(["Nguyen", "García", "Okafor", "Smith", "Kowalska"]),
             "email": f"p{start + i}@example.org", "time_zone": "America/New_York"}
            for i in range(size)])
        ids = db.session.scalars(select(Contact.id).where(Contact.id > 0)
                                 .order_by(Contact.id.desc()).limit(size)).all()
        db.session.execute(insert(ContactPhone), [
            {"organization_id": org.id, "contact_id": cid, "e164": f"+1617{cid:07d}",
             "label": PhoneLabel.MOBILE, "is_mobile": True, "country": "US"} for cid in ids])
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--passphrase", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    server = ThrowawayPostgres().start() if args.database == "postgresql" else None

    def url(name: str) -> str:
        return server.create_database(name) if server else f"sqlite:///{work / name}.sqlite"

    try:
        source = _app(url("source"), work / "source")
        with source.app_context():
            _fill(args.contacts)
            started = time.perf_counter()
            info = create_backup(db.engine, work / "backups", passphrase=args.passphrase)
            backup_s = time.perf_counter() - started
            db.engine.dispose()
        target = _app(url("target"), work / "target")
        with target.app_context():
            started = time.perf_counter()
            report = restore_backup(db.engine, info.path, passphrase=args.passphrase)
            restore_s = time.perf_counter() - started
            db.engine.dispose()
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({
        "contacts": args.contacts, "database": args.database,
        "encrypted": bool(args.passphrase), "rows": sum(report.rows.values()),
        "backup_s": round(backup_s, 2), "backup_mb": round(info.size / 1e6, 2),
        "restore_s": round(restore_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
