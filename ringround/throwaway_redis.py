"""A throwaway Redis server in a temporary directory, for tests and benchmarks (the Debian
`redis-server`): nothing saved to disk (`--save ""`, no append-only file), loopback only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class ThrowawayRedis:
    """Start with `start()`, get `url`, end with `stop()` (or use it as a context manager).
    `ports`: the ports it may take (the first free one); any free port if None."""

    def __init__(self, ports: range | None = None, root: Path | None = None):
        self.ports = ports
        self.root = Path(root or tempfile.mkdtemp(prefix="ringround-redis-"))
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _candidate_ports(self) -> list[int]:
        if self.ports is None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                return [sock.getsockname()[1]]
        return [port for port in self.ports if _port_free(port)]

    def start(self) -> ThrowawayRedis:
        """Start on the first of `ports` it can take (another test process may take a free
        one first: then the next)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.root.mkdir(parents=True, exist_ok=True)
        for port in self._candidate_ports():
            if self._start_on(binary, port):
                return self
        raise RuntimeError(f"redis-server could not start on a port of {self.ports}: "
                           f"{self._log()}")

    def _start_on(self, binary: str, port: int) -> bool:
        self.port = port
        self.process = subprocess.Popen(  # noqa: S603 - the Debian binary, our arguments
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
             "--logfile", str(self.root / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        return False

    def _log(self) -> str:
        path = self.root / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
