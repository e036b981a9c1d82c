"""Backups: one logical file for SQLite and PostgreSQL, and its restore.

A backup is every table's rows as JSON lines, tables in foreign-key order, read inside one
read-only snapshot (a SQLite read transaction; PostgreSQL REPEATABLE READ), so the app may keep
running. The file is one JSON header line (format, schema revision, created time, database
kind, SHA-256 of the payload, encryption) and then the payload: the gzipped lines, optionally
encrypted with Fernet under a key derived from a passphrase by scrypt. Why this format and not
the databases' own tools: docs/backups.md.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask_migrate import upgrade
from sqlalchemy import Connection, Engine, MetaData, func, inspect, select, text

from ringround.background import job_app
from ringround.extensions import db
from ringround.people.erasure import replay_erasures

FORMAT = "ringround-backup/1"
SUFFIX = ".rrbackup"
VERSION_TABLE = "alembic_version"
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup cannot be made, read or restored; the message says why, for the user."""


class PassphraseNeededError(BackupError):
    """An encrypted backup was given without a passphrase (the tool says how to give one)."""


@dataclass(frozen=True)
class BackupInfo:
    """A backup file and its header."""

    path: Path
    size: int
    created_at: datetime
    revision: str
    database: str
    encrypted: bool


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did: the backup's schema revision, rows per table, people erased again."""

    revision: str
    rows: dict[str, int]
    erased_again: int


# -- encoding rows ---------------------------------------------------------------------------

def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, time):
        return {"$t": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot back up a {type(value).__name__}")


_DECODERS = {
    "$dt": datetime.fromisoformat, "$d": date.fromisoformat, "$t": time.fromisoformat,
    "$td": lambda s: timedelta(seconds=s), "$dec": Decimal, "$b": base64.b64decode,
}


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key in _DECODERS:
            return _DECODERS[key](value)
    return obj


def encode_row(row: dict[str, Any]) -> str:
    """One row as a JSON line (also what tests compare rows by)."""
    return json.dumps(row, default=_encode, separators=(",", ":"), sort_keys=True)


# -- reading the database --------------------------------------------------------------------

def _reflect(conn: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return metadata


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at, or None when it has none."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _data_tables(metadata: MetaData) -> list:
    return [table for table in metadata.sorted_tables if table.name != VERSION_TABLE]


def _snapshot(engine: Engine) -> Connection:
    """A connection holding one consistent read-only view of the whole database."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        return conn
    conn = engine.connect()
    # pysqlite opens no transaction for a SELECT by itself: BEGIN and a first read take
    # the snapshot (WAL) or the shared lock (rollback journal) for the whole dump.
    conn.exec_driver_sql("BEGIN")
    conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
    return conn


def _dump_lines(conn: Connection, metadata: MetaData) -> Iterator[str]:
    for table in _data_tables(metadata):
        yield json.dumps({"table": table.name}) + "\n"
        order = list(table.primary_key.columns) or list(table.columns)
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(
            select(table).order_by(*order))
        for row in result.mappings():
            yield encode_row(dict(row)) + "\n"


# -- the file --------------------------------------------------------------------------------

def _fernet(passphrase: str, salt: bytes) -> Fernet:
    kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode())))


def _write_durably(folder: Path, name: str, header: dict, payload: IO[bytes]) -> Path:
    """Header line + payload to a temporary name in `folder`, fsynced, then renamed."""
    final = folder / name
    fd, tmp_name = tempfile.mkstemp(prefix=".partial-", suffix=SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps(header).encode() + b"\n")
            while chunk := payload.read(_CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, final)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return final


def backup_folder() -> Path:
    """BACKUP_DIR, else instance/backups."""
    app = job_app()
    return Path(app.config.get("BACKUP_DIR") or Path(app.instance_path) / "backups")


def create_backup(engine: Engine, folder: Path | None = None, passphrase: str | None = None,
                  keep: int | None = None) -> BackupInfo:
    """Write a backup of the whole database into `folder`; keep only the newest `keep`."""
    folder = Path(folder or backup_folder())
    folder.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    with tempfile.TemporaryFile(dir=folder) as raw:
        conn = _snapshot(engine)
        try:
            revision = schema_revision(conn)
            if revision is None:
                raise BackupError("The database has no schema revision: run `flask db upgrade`.")
            metadata = _reflect(conn)
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                batch: list[str] = []
                for line in _dump_lines(conn, metadata):
                    batch.append(line)
                    if len(batch) >= 2000:
                        gz.write("".join(batch).encode())
                        batch.clear()
                gz.write("".join(batch).encode())
        finally:
            conn.rollback()
            conn.close()
        raw.seek(0)
        salt = None
        payload: IO[bytes] = raw
        if passphrase:
            salt = os.urandom(16)
            payload = io.BytesIO(_fernet(passphrase, salt).encrypt(raw.read()))
        payload.seek(0)
        digest = hashlib.sha256()
        while chunk := payload.read(_CHUNK):
            digest.update(chunk)
        payload.seek(0)
        header = {
            "format": FORMAT, "revision": revision, "created_at": created.isoformat(),
            "database": engine.dialect.name, "sha256": digest.hexdigest(),
            "encryption": ({"cipher": "fernet", "kdf": "scrypt", "n": 2**15, "r": 8, "p": 1,
                            "salt": base64.b64encode(salt).decode()} if salt else None),
        }
        name = f"ringround-{created.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"
        path = _write_durably(folder, name, header, payload)
    if keep is not None:
        prune_backups(folder, keep)
    return read_info(path)


# -- reading backups -------------------------------------------------------------------------

def _read_header(stream: IO[bytes], path: Path) -> dict:
    line = stream.readline(64 * 1024)
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path.name} is not a Ringround backup (or its header is damaged).")
    return header


def read_info(path: Path) -> BackupInfo:
    """The header of one backup file."""
    with path.open("rb") as stream:
        header = _read_header(stream, path)
    return BackupInfo(path=path, size=path.stat().st_size,
                      created_at=datetime.fromisoformat(header["created_at"]),
                      revision=header["revision"], database=header["database"],
                      encrypted=bool(header.get("encryption")))


def list_backups(folder: Path | None = None) -> list[BackupInfo]:
    """The backups in `folder`, newest first (unreadable files are skipped)."""
    folder = Path(folder or backup_folder())
    found = []
    for path in folder.glob(f"ringround-*{SUFFIX}") if folder.is_dir() else []:
        try:
            found.append(read_info(path))
        except (BackupError, OSError, KeyError, ValueError):
            continue
    return sorted(found, key=lambda info: info.created_at, reverse=True)


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete the oldest backups beyond the newest `keep`; return what was deleted."""
    old = [info.path for info in list_backups(folder)[max(keep, 1):]]
    for path in old:
        path.unlink(missing_ok=True)
    return old


@dataclass(frozen=True)
class BackupStatus:
    """When the newest backup was made (None: never), and whether that is too long ago."""

    last_at: datetime | None
    overdue: bool


BACKUP_MAX_AGE = timedelta(hours=24)


def backup_status(folder: Path | None = None, now: datetime | None = None) -> BackupStatus:
    """The console's view of the backup folder: the newest backup, overdue past 24 hours."""
    backups = list_backups(folder)
    last = backups[0].created_at if backups else None
    now = now or datetime.now(UTC)
    return BackupStatus(last_at=last, overdue=last is None or now - last > BACKUP_MAX_AGE)


def backup_due(every: timedelta, folder: Path | None = None,
               now: datetime | None = None) -> bool:
    """Whether a scheduled backup (one `every`) is due: none yet, or the newest is as old.
    (Five minutes early counts: an hourly check must not slip a whole hour.)"""
    last = backup_status(folder, now).last_at
    return last is None or (now or datetime.now(UTC)) - last >= every - timedelta(minutes=5)


def _verified_payload(path: Path, passphrase: str | None) -> tuple[dict, bytes]:
    """The header and the gzipped payload, checked (checksum, decryption) before any use."""
    with path.open("rb") as stream:
        header = _read_header(stream, path)
        data = stream.read()
    if hashlib.sha256(data).hexdigest() != header.get("sha256"):
        raise BackupError(f"{path.name} is damaged or incomplete: its checksum does not match. "
                          "Nothing was changed.")
    encryption = header.get("encryption")
    if encryption:
        if not passphrase:
            raise PassphraseNeededError(f"{path.name} is encrypted: give its passphrase.")
        try:
            data = _fernet(passphrase, base64.b64decode(encryption["salt"])).decrypt(data)
        except InvalidToken:
            raise BackupError(f"{path.name} could not be decrypted: wrong passphrase. "
                              "Nothing was changed.") from None
    return header, data


def _payload_rows(data: bytes, path: Path) -> Iterator[tuple[str, dict]]:
    """(table, row) for every row of the gzipped payload, in the file's order."""
    table = None
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as lines:
            for line in lines:
                item = json.loads(line, object_hook=_decode)
                if len(item) == 1 and isinstance(item.get("table"), str):
                    table = item["table"]
                elif table is None or not isinstance(item, dict):
                    raise ValueError("a row outside any table")
                else:
                    yield table, item
    except (OSError, EOFError, ValueError) as error:
        raise BackupError(f"{path.name} cannot be read ({error}). Nothing was changed.") from None


# -- restore ---------------------------------------------------------------------------------

def database_is_empty(engine: Engine) -> bool:
    """True when no table (other than the schema revision) holds a row."""
    with engine.connect() as conn:
        return not any(conn.scalar(select(func.count()).select_from(table))
                       for table in _data_tables(_reflect(conn)))


def _known_revisions() -> set[str]:
    config = job_app().extensions["migrate"].migrate.get_config()
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def restore_backup(engine: Engine, path: Path, passphrase: str | None = None,
                   force: bool = False) -> RestoreReport:
    """Replace the database with the backup's rows, upgrade it to this version's schema, and
    erase again everyone in the erasure ledger.

    Every check (empty instance, known revision, checksum, passphrase, readable rows) happens
    before anything is changed.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup at {path}.")
    header, data = _verified_payload(path, passphrase)
    revision = header["revision"]
    if revision not in _known_revisions():
        raise BackupError(f"{path.name} comes from a newer version of Ringround (schema "
                          f"{revision}); upgrade Ringround first. Nothing was changed.")
    for _ in _payload_rows(data, path):  # every line parses before anything changes
        pass
    if not force and not database_is_empty(engine):
        raise BackupError("This instance already holds data; restore with --force to replace "
                          "it. Nothing was changed.")
    _drop_everything(engine)
    upgrade(revision=revision)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        metadata = _reflect(conn)
        batch: list[dict] = []
        current = None
        for name, row in _payload_rows(data, path):
            if name != current or len(batch) >= 5000:
                _insert(conn, metadata, current, batch, path)
                current, batch = name, []
                counts.setdefault(name, 0)
            batch.append(row)
            counts[name] += 1
        _insert(conn, metadata, current, batch, path)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn, metadata)
    upgrade()
    db.session.remove()
    erased = replay_erasures(db.session)
    return RestoreReport(revision=revision, rows=counts, erased_again=erased)


def _insert(conn: Connection, metadata: MetaData, name: str | None, rows: list[dict],
            path: Path) -> None:
    if not rows or name is None:
        return
    if name not in metadata.tables:
        raise BackupError(f"{path.name} holds a table this schema lacks: {name}.")
    conn.execute(metadata.tables[name].insert(), rows)


def _drop_everything(engine: Engine) -> None:
    with engine.begin() as conn:
        metadata = _reflect(conn)
        metadata.drop_all(bind=conn)


def _reset_sequences(conn: Connection, metadata: MetaData) -> None:
    """After explicit ids were inserted, each serial column continues after the highest."""
    for table in _data_tables(metadata):
        for column in table.primary_key.columns:
            sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                   {"t": table.name, "c": column.name})
            if sequence:
                highest = conn.scalar(select(func.max(column))) or 0
                conn.execute(text("SELECT setval(:s, :v, false)"),
                             {"s": sequence, "v": highest + 1})
