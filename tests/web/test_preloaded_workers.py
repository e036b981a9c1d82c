"""gunicorn --preload (docs/deployment.md): the app is built once in the master, and each
forked worker must use database connections of its own, also after one is killed -9.

The entry module below uses the database and the job queue in the master before the fork,
as start-up work might: without `ringround.forking`, both workers would inherit (and share)
the master's pooled connection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests

from ringround.accounts import create_password_user
from ringround.extensions import db
from tests.conftest import TEST_SECRET, csrf_token_from, make_app

ROOT = Path(__file__).resolve().parents[2]

ENTRY = """
from sqlalchemy import text

from ringround import create_app
from ringround.background import huey
from ringround.extensions import db

app = create_app()
with app.app_context():  # start-up work in the master, before the fork
    db.session.execute(text("SELECT 1"))
    db.session.remove()  # the connection goes back to the master's pool, still open
huey.storage.put_data("master-started", b"1")
"""




def _sign_in(base: str) -> int:
    """Sign in as a browser would (a DB write: the last sign-in time); the POST's status."""
    with requests.Session() as browser:
        page = browser.get(f"{base}/login", timeout=20)
        answer = browser.post(f"{base}/login", allow_redirects=False, timeout=20, data={
            "email": "w@example.org", "password": "worker password",
            "csrf_token": csrf_token_from(page.text)})
        assert browser.get(f"{base}/healthz", timeout=20).status_code == 200
        return answer.status_code


def _workers(master: psutil.Process) -> list[psutil.Process]:
    return master.children()


def _db_connections(process: psutil.Process, database: str, pg_port: int | None) -> set:
    """What identifies the process's open database connections: the local ports of its
    sockets to PostgreSQL, or its open descriptors of the SQLite file."""
    if pg_port:
        return {c.laddr.port for c in process.net_connections("tcp")
                if c.raddr and c.raddr.port == pg_port}
    return {f.fd for f in process.open_files() if f.path == database}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """A database with the schema and one user, and the PostgreSQL port when there is one."""
    if request.param == "sqlite":
        url, pg_port = f"sqlite:///{tmp_path / 'web.sqlite'}", None
    else:
        server = request.getfixturevalue("postgres_server")
        url, pg_port = server.create_database("preloaded"), server.port
    app = make_app(url, tmp_path / "instance")
    with app.app_context():
        create_password_user(db.session, email="w@example.org", password="worker password",
                             display_name="W")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url, pg_port


def test_preloaded_workers_each_open_their_own_connections(database, tmp_path):
    url, pg_port = database
    (tmp_path / "preload_entry.py").write_text(ENTRY)
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"),
           "SECRET_KEY": TEST_SECRET, "LOGIN_RATE_LIMIT": "1000 per minute",
           "RATE_LIMIT_PER_ADDRESS": "10000 per minute", "PYTHONPATH": str(ROOT)}
    env.pop("JOB_QUEUE_URL", None)  # the SQLite queue in the instance folder
    web = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--bind",
         "127.0.0.1:0", "--pythonpath", str(tmp_path), "--log-level", "warning",
         "preload_entry:app"], cwd=ROOT, env=env, start_new_session=True)
    master = psutil.Process(web.pid)
    database_file = url.removeprefix("sqlite:///")
    try:
        # Port 0: the system picks a free port when gunicorn binds, so no other server can
        # take it between a check and the bind (as happened on a busy CI machine).
        _wait_for(lambda: _listening_port(master) is not None, "gunicorn did not listen")
        base = f"http://127.0.0.1:{_listening_port(master)}"
        _wait_for(lambda: _healthy(base), "gunicorn did not answer /healthz")
        # SQLite: descriptor numbers repeat (across processes, and after a close), so only
        # PostgreSQL's sockets tell whose a connection is; SQLite checks that both work
        # (the master's pooled connection is what a worker must not use; once in a CI run
        # under load it was not found on the master, so its absence is not a failure here:
        # what matters is that each worker works on connections of its own)
        masters_own = _db_connections(master, database_file, pg_port) if pg_port else set()

        def every_worker_has_its_own() -> bool:
            with ThreadPoolExecutor(4) as pool:
                assert set(pool.map(_sign_in, [base] * 4)) == {302}
            workers = _workers(master)
            # (a child keeps the inherited socket open but unused: psycopg never closes a
            # connection in a process other than the one that opened it)
            own = [_db_connections(w, database_file, pg_port) - masters_own for w in workers]
            return len(workers) == 2 and all(own) and not (pg_port and own[0] & own[1])

        _wait_for(every_worker_has_its_own, "both workers did not open connections of their own")

        killed = _workers(master)[0]
        os.kill(killed.pid, signal.SIGKILL)
        _wait_for(lambda: len(_workers(master)) == 2 and killed not in _workers(master),
                  "the master did not replace the killed worker")
        _wait_for(every_worker_has_its_own, "the new worker did not open a connection of its own")
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)


def _listening_port(master: psutil.Process) -> int | None:
    ports = [c.laddr.port for c in master.net_connections("tcp")
             if c.status == psutil.CONN_LISTEN]
    return ports[0] if ports else None


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(condition, message: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message)
