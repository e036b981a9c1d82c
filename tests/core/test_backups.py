"""Backups and restore (ringround/backups.py): round trips on both databases, refusals that
change nothing, encryption, kill -9 mid-backup, and erasures that survive a restore."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp, upgrade
from sqlalchemy import MetaData, insert, select

from ringround.backups import (
    BackupError,
    _verified_payload,
    create_backup,
    encode_row,
    list_backups,
    restore_backup,
    schema_revision,
)
from ringround.demo import build_demo
from ringround.extensions import db
from ringround.models import Contact, Organization
from ringround.people.erasure import erase_contact
from tests.conftest import TEST_SECRET, _pg_counter, make_app

ROOT = Path(__file__).resolve().parents[2]
OLDER_REVISION = "b6e2f1a4c8d7"  # an earlier schema than the head
HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()


def _fingerprint() -> dict[str, tuple[int, str]]:
    """Every table's row count and a SHA-256 of its rows (sorted), alembic_version included."""
    metadata = MetaData()
    with db.engine.connect() as conn:
        metadata.reflect(bind=conn)
        result = {}
        for table in metadata.sorted_tables:
            lines = sorted(encode_row(dict(row)) for row in conn.execute(select(table)).mappings())
            result[table.name] = (len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())
    return result


def _fill() -> None:
    stamp()
    build_demo(db.session, email="demo@example.org", password="demo-password", n_contacts=30)
    db.session.commit()


def _fresh_app(kind: str, tmp_path: Path, name: str, request):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"t{next(_pg_counter)}")
    return make_app(url, tmp_path / f"{name}-instance")


def test_round_trip_keeps_every_row_of_every_table(any_app, tmp_path, request):
    _fill()
    before = _fingerprint()
    assert before["contacts"][0] >= 30 and before["operations"][0] >= 1
    info = create_backup(db.engine, tmp_path / "backups")
    assert info.database == any_app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]

    kind = db.engine.dialect.name
    other = _fresh_app(kind, tmp_path, "restored", request)
    with other.app_context():
        report = restore_backup(db.engine, info.path)
        assert _fingerprint() == before
        assert report.rows["contacts"] == before["contacts"][0]
        # New rows continue after the restored ids (PostgreSQL sequences were moved on).
        build_demo(db.session, email="demo@example.org", password="demo-password", n_contacts=35)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_erased_person_stays_erased_after_restoring_an_older_backup(any_app, tmp_path):
    _fill()
    person = db.session.scalars(select(Contact).order_by(Contact.id)).first()
    person.email = "Erase.Me@example.org"
    db.session.commit()
    person_id, email = person.id, person.email
    numbers = [p.e164 for p in person.phones]
    info = create_backup(db.engine, tmp_path / "backups")
    erase_contact(db.session, person, actor_id=None)
    ledger = (Path(any_app.instance_path) / "erasure-ledger.jsonl").read_text()
    assert email not in ledger and not any(n in ledger for n in numbers)  # keyed hashes only

    report = restore_backup(db.engine, info.path, force=True)
    db.session.remove()
    assert report.erased_again == 1
    assert db.session.get(Contact, person_id) is None
    assert db.session.scalar(select(Contact).where(Contact.email == email)) is None


def test_someone_who_signed_up_again_after_erasure_is_kept_by_a_restore(app, tmp_path, factories):
    _fill()
    org = db.session.scalar(select(Organization))
    org_id = org.id
    first = factories.contact(org, phone="+16175550199")
    erase_contact(db.session, first, actor_id=None)
    again = factories.contact(org, phone="+16175550199", first_name="Back again")
    again_id = again.id
    info = create_backup(db.engine, tmp_path / "backups")

    report = restore_backup(db.engine, info.path, force=True)
    db.session.remove()
    assert report.erased_again == 0
    assert db.session.get(Contact, again_id).organization_id == org_id


def test_non_empty_instance_is_refused_without_force(app, tmp_path):
    _fill()
    info = create_backup(db.engine, tmp_path / "backups")
    before = _fingerprint()
    with pytest.raises(BackupError, match="already holds data.*--force"):
        restore_backup(db.engine, info.path)
    assert _fingerprint() == before


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "tampered":
        middle = len(data) - 40
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:])
    else:
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how", ["tampered", "truncated"])
def test_damaged_backup_is_refused_and_nothing_changes(app, tmp_path, how):
    _fill()
    info = create_backup(db.engine, tmp_path / "backups")
    _corrupt(info.path, how)
    before = _fingerprint()
    with pytest.raises(BackupError, match="checksum does not match. Nothing was changed"):
        restore_backup(db.engine, info.path, force=True)
    assert _fingerprint() == before


def test_backup_from_a_newer_schema_is_refused(app, tmp_path):
    _fill()
    info = create_backup(db.engine, tmp_path / "backups")
    header, _, payload = info.path.read_bytes().partition(b"\n")
    meta = json.loads(header)
    meta["revision"] = "ffffffffffff"
    info.path.write_bytes(json.dumps(meta).encode() + b"\n" + payload)
    before = _fingerprint()
    with pytest.raises(BackupError, match="newer version of Ringround"):
        restore_backup(db.engine, info.path, force=True)
    assert _fingerprint() == before


def test_backup_from_an_older_schema_is_upgraded(tmp_path):
    old = create_app_at(tmp_path, "old", OLDER_REVISION)
    with old.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO users (display_name, language, active, session_version, created_at,"
                " updated_at) VALUES ('Old', 'en', 1, 1, '2026-01-01', '2026-01-01')")
        info = create_backup(db.engine, tmp_path / "backups")
        assert info.revision == OLDER_REVISION
        db.engine.dispose()
    new = make_app(f"sqlite:///{tmp_path / 'new.sqlite'}", tmp_path / "new-instance")
    with new.app_context():
        restore_backup(db.engine, info.path)
        with db.engine.connect() as conn:
            assert schema_revision(conn) == HEAD
            assert conn.exec_driver_sql("SELECT display_name FROM users").scalars().all() == ["Old"]
        db.engine.dispose()


def create_app_at(tmp_path: Path, name: str, revision: str):
    from ringround import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'{name}.sqlite'}"},
                     instance_path=str(tmp_path / f"{name}-instance"))
    with app.app_context():
        upgrade(revision=revision)
    return app


def test_encrypted_round_trip_and_wrong_passphrase(app, tmp_path):
    _fill()
    before = _fingerprint()
    info = create_backup(db.engine, tmp_path / "backups", passphrase="long enough phrase")
    assert info.encrypted
    assert b"demo@example.org" not in info.path.read_bytes()
    with pytest.raises(BackupError, match="wrong passphrase. Nothing was changed"):
        restore_backup(db.engine, info.path, passphrase="not the phrase", force=True)
    with pytest.raises(BackupError, match="encrypted: give its passphrase"):
        restore_backup(db.engine, info.path, force=True)
    assert _fingerprint() == before
    restore_backup(db.engine, info.path, passphrase="long enough phrase", force=True)
    db.session.remove()
    assert _fingerprint() == before


def test_keep_deletes_the_oldest_beyond_n_and_list_shows_newest_first(app, tmp_path):
    _fill()
    folder = tmp_path / "backups"
    made = [create_backup(db.engine, folder, keep=2).path for _ in range(3)]
    assert [info.path for info in list_backups(folder)] == [made[2], made[1]]
    assert not made[0].exists()


def test_cli_create_list_restore(app, runner, tmp_path, monkeypatch):
    _fill()
    folder = tmp_path / "cli-backups"
    monkeypatch.setenv("BACKUP_PASS", "a passphrase")
    result = runner.invoke(args=["backup", "create", "--to", str(folder),
                                 "--passphrase-env", "BACKUP_PASS"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(args=["backup", "list", "--in", str(folder)])
    assert HEAD in listed.output and "encrypted" in listed.output
    path = next(folder.glob("*.rrbackup"))
    refused = runner.invoke(args=["backup", "restore", str(path),
                                  "--passphrase-env", "BACKUP_PASS"])
    assert refused.exit_code != 0 and "--force" in refused.output
    # Without the passphrase, the tool says how to give it.
    unread = runner.invoke(args=["backup", "restore", str(path), "--force"])
    assert unread.exit_code != 0 and "--passphrase-env VAR" in unread.output
    assert "Nothing was changed" in unread.output


def test_kill_9_during_a_backup_leaves_earlier_backups_and_no_half_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    big = make_app(url, tmp_path / "instance")
    folder = tmp_path / "backups"
    with big.app_context():
        stamp()
        _fill()
        earlier = create_backup(db.engine, folder)
        org_id = db.session.scalar(select(Contact.organization_id))
        rows = [{"organization_id": org_id, "first_name": f"Person {i}", "last_name": "x" * 200,
                 "time_zone": "UTC"} for i in range(150_000)]
        db.session.execute(insert(Contact), rows)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    earlier_bytes = earlier.path.read_bytes()
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": url,
           "SECRET_KEY": TEST_SECRET}
    # Kill it the moment its temporary file shows in the folder (it is writing the backup).
    # On a loaded machine this process may not look while the whole backup is written: that
    # backup is whole (checked below), and the next attempt tries again.
    for _attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "backup",
                                 "create", "--to", str(folder)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not any(folder.glob(".partial-*")) and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.001)
        if proc.poll() is None:
            break
        assert proc.returncode == 0
    else:
        pytest.fail("the backup finished five times before it could be killed")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert earlier.path.read_bytes() == earlier_bytes
    # On a quick machine the rename may have happened before the kill landed: then the new
    # file is whole. Never is a half-written file under a backup's name.
    for path in set(folder.glob("ringround-*")) - {earlier.path}:
        _verified_payload(path, None)
    assert earlier.path in [info.path for info in list_backups(folder)]
    assert all(info.path.name.startswith("ringround-") for info in list_backups(folder))


@pytest.mark.postgres
def test_a_sqlite_backup_restores_into_postgresql(app, tmp_path, request):
    _fill()
    before = {name: count for name, (count, _) in _fingerprint().items()}
    names = sorted(db.session.scalars(select(Contact.first_name)).all())
    info = create_backup(db.engine, tmp_path / "backups")
    other = _fresh_app("postgresql", tmp_path, "pg", request)
    with other.app_context():
        restore_backup(db.engine, info.path)
        assert {name: count for name, (count, _) in _fingerprint().items()} == before
        assert sorted(db.session.scalars(select(Contact.first_name)).all()) == names
        db.session.remove()
        db.engine.dispose()


def test_cli_refuses_a_truncated_file_with_a_clear_message(app, runner, tmp_path):
    _fill()
    info = create_backup(db.engine, tmp_path / "backups")
    _corrupt(info.path, "truncated")
    result = runner.invoke(args=["backup", "restore", "--force", str(info.path)])
    assert result.exit_code == 1
    assert "is damaged or incomplete: its checksum does not match. Nothing was changed." in (
        result.output)
