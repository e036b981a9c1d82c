"""A throwaway PostgreSQL server in a temporary directory, for tests and benchmarks.

Uses the Debian binaries (initdb, pg_ctl). As root, the server runs as the `postgres` user,
since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from ringround.config import normalize_database_url


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Tests trade durability for speed: nothing they write must outlive a crash.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# What docs/deployment.md recommends for production (durable), for benchmarks that should
# measure what a real server does: WAL room for a big import between checkpoints.
PRODUCTION_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min"}


class ThrowawayPostgres:
    """Start with `start()`, get `url`, end with `stop()` (or use it as a context manager).
    `settings`: the server's settings beyond the port and connection limit (by default the
    fast, non-durable `FAST_SETTINGS`)."""

    def __init__(self, user: str = "postgres", port: int | None = None,
                 settings: dict[str, str] | None = None):
        self.bin = _bin_dir()
        self.port = port or _free_port()
        self.user = user
        self.settings = dict(FAST_SETTINGS if settings is None else settings)
        self.root = Path(tempfile.mkdtemp(prefix="ringround-pg-"))
        self.data = self.root / "data"
        self.run_as_other = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.run_as_other:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our own binaries

    def start(self) -> ThrowawayPostgres:
        if self.run_as_other:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(self.bin / "initdb", "-D", self.data, "-U", self.user, "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        settings = {"max_connections": "200", "shared_buffers": "128MB", **self.settings}
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 " + " ".join(
            f"-c {name}={value}" for name, value in settings.items())
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-w", "-s",
                  "-l", self.root / "server.log", "start")
        return self

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        # Here, not at the top: only tests and benchmarks that start a PostgreSQL need the
        # driver; the app and the SQLite runs never load it.
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-s", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def benchmark_database(backend: str, scratch: str, name: str
                       ) -> tuple[str, ThrowawayPostgres | None]:
    """The database URL a benchmark uses, and the server to stop afterwards (or None).

    SQLite: a file in `scratch`. PostgreSQL: `$PG_URL` when set, else a throwaway server.
    """
    if backend == "sqlite":
        return f"sqlite:///{scratch}/bench.sqlite", None
    if os.environ.get("PG_URL"):
        return normalize_database_url(os.environ["PG_URL"]), None
    server = ThrowawayPostgres().start()
    return server.create_database(name), server
