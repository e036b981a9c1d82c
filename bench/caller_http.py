"""Benchmark: the volunteer's hot path over HTTP, against gunicorn, beside a bare baseline app.

    python bench/caller_http.py [--backend sqlite|postgresql] [--targets 20000] [--callers 8]
        [--workers 2] [--threads 1] [--seconds 15] [--app-root DIR] [--label NAME]

Fills N targets (as bench/queue.py does), starts gunicorn on the app, and runs C simulated
callers in this process, each looping "send the current card's result, get the next card" as
fast as it can through the phone's JSON API: POST /api/call/<op>/sync with the result (asking
for the next card in the same answer) and, when that answer carries no card (older code),
POST /api/call/<op>/next. Then the same with the bare baseline app
(bench/caller_http_server/bare.py: an UPDATE by key, an INSERT and a commit, then a SELECT of
the next row by index), with the same gunicorn settings. Prints ONE JSON line: db, workers,
threads, callers, targets, pairs_per_s, bare_pairs_per_s, ratio, p50/p99 per request and per
pair (ms), statements_per_pair and bare_statements_per_pair (SQL statements counted by the
server's database driver: bench/caller_http_server/hooks.py; BEGIN, COMMIT and ROLLBACK apart,
in begin_commit_per_pair), app_cpu_ms_per_pair
(the gunicorn workers' CPU time over pairs), and client_cores (this process's CPU over the
wall time: what the callers took from the server's two cores).

`--app-root` runs gunicorn on another checkout of Ringround (say, main's worktree) with the same
database and callers: before and after in one run. PostgreSQL uses $PG_URL when set, else a
throwaway server on port 5631. gunicorn listens on ports 5632 (app) and 5633 (bare);
`--port-base P` moves the three to P, P+1, P+2. `BENCH_PROFILE_DIR=dir` writes each app
worker's cProfile to dir/<pid>.prof when it stops (bench/caller_http_server/hooks.py).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# As a script, bench/ comes first on sys.path, where queue.py (the queue benchmark) would
# shadow the standard library's `queue`: put the project root there instead.
sys.path[:] = [p for p in sys.path if p not in ("", str(HERE))]
sys.path.insert(0, str(ROOT))

APP_PORT, BARE_PORT, PG_PORT = 5632, 5633, 5631
SECRET = "bench-caller-http"
_CLIENT_ID = re.compile(r'name="client_id" value="([^"]+)"')
_PROOF = re.compile(r'name="lease_proof" value="([^"]+)"')


def _bench_queue():
    """bench/queue.py, loaded under another name (its fill is the one every bench shares)."""
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# ---------------------------------------------------------------- setup


def setup(url: str, targets: int, callers: int, instance: str):
    """Fill the database; the operation, each caller's session cookie and CSRF token."""
    from ringround.extensions import db
    from ringround.models import Operation, User

    bq = _bench_queue()
    app = bq.make_app(url, 4, instance)
    app.config["SECRET_KEY"] = SECRET
    op_id, agent_ids = bq.fill(app, targets)
    with app.app_context():
        operation = db.session.get(Operation, op_id)
        # A short script with a placeholder and a question, as a real operation has.
        operation.script = "Hello {first_name}, I am {caller_name}. **Can we count on you?**"
        operation.questionnaire = {"questions": [
            {"id": "support", "text": "Will you vote?", "kind": "choice",
             "choices": ["Yes", "No"]}]}
        db.session.commit()
        users = [db.session.get(User, agent_id) for agent_id in agent_ids[:callers * 2]]
        sessions = [user.get_id() for user in users]
    cookies = []
    for session_id in sessions:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        cookies.append(client.get_cookie("session").value)
    with app.app_context():
        db.engine.dispose()
    return op_id, agent_ids[:callers * 2], cookies


# ---------------------------------------------------------------- servers


class Gunicorn:
    """gunicorn on a port, its workers' CPU time and SQL statement counts."""

    def __init__(self, target: str, port: int, workers: int, threads: int, env: dict,
                 chdir: Path, pythonpath: Path | None = None):
        self.count_dir = Path(tempfile.mkdtemp(prefix="ringround-bench-count-"))
        command = [sys.executable, "-m", "gunicorn", target, "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads),
                   "--worker-class", "sync" if threads == 1 else "gthread",
                   "--chdir", str(chdir), "--config", str(HERE / "caller_http_server" / "hooks.py"),
                   "--log-level", "warning", "--backlog", "2048"]
        if pythonpath:
            command += ["--pythonpath", str(pythonpath)]
        full_env = {**os.environ, **env, "BENCH_COUNT_DIR": str(self.count_dir),
                    "PYTHONPATH": str(chdir)}
        # Started in `chdir`: `python -m` puts the working directory first on sys.path.
        self.process = subprocess.Popen(command, env=full_env,  # noqa: S603 - our own command
                                        cwd=chdir)
        self.port = port
        self.workers = workers
        self._wait()

    def _wait(self) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn stopped")
            if len(self.pids()) >= self.workers and len(list(self.count_dir.iterdir())) >= \
                    self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """User and system time of the master and its workers so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in [self.process.pid, *self.pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def statements(self) -> tuple[int, int]:
        """SQL statements, and BEGIN/COMMIT/ROLLBACK, run by the workers so far."""
        counts = [p.read_bytes()[:16] for p in self.count_dir.iterdir()]
        return (sum(int.from_bytes(c[:8], "little", signed=True) for c in counts),
                sum(int.from_bytes(c[8:16], "little", signed=True) for c in counts))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.count_dir, ignore_errors=True)


# ---------------------------------------------------------------- callers


def _request(port: int, method: str, path: str, body: dict | None, headers: dict):
    """One request on a new connection (gunicorn's sync workers close each one)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=data, headers={
            **headers, **({"Content-Type": "application/json"} if data else {})})
        response = connection.getresponse()
        payload = response.read()
        return response.status, payload, response.getheader("Set-Cookie")
    finally:
        connection.close()


class AppCaller:
    """One volunteer on the phone's JSON API: result and next card, again and again."""

    def __init__(self, op_id: int, cookie: str):
        self.op = op_id
        self.cookie = cookie
        self.token = ""
        self.card: dict | None = None

    def _call(self, method: str, path: str, body: dict | None = None):
        headers = {"Cookie": f"session={self.cookie}", "Accept": "application/json"}
        if self.token:
            headers["X-CSRFToken"] = self.token
        status, payload, set_cookie = _request(APP_PORT, method, path, body, headers)
        if set_cookie and set_cookie.startswith("session="):
            self.cookie = set_cookie.split(";", 1)[0].split("=", 1)[1]
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload)

    def start(self) -> None:
        self.token = self._call("GET", f"/api/call/{self.op}/token")["csrf_token"]
        self.card = self._call("POST", f"/api/call/{self.op}/next")["lease"]

    def pair(self, timings: list[float]) -> bool:
        """Send the card's result; get the next card (one request when the sync carries it)."""
        card = self.card
        if card is None:
            return False
        html = card["card_html"]
        entry = {"kind": "result", "client_id": _CLIENT_ID.search(html).group(1),
                 "target_id": card["target_id"], "lease_proof": _PROOF.search(html).group(1),
                 "disposition": "no_answer", "group": "no_contact", "answers": {},
                 "notes": "", "field_updates": {}, "method": "own_phone"}
        started = time.perf_counter()
        answer = self._call("POST", f"/api/call/{self.op}/sync",
                            {"entries": [entry], "next": True})
        timings.append((time.perf_counter() - started) * 1000)
        if answer.get("rejected"):
            raise RuntimeError(f"rejected: {answer['rejected']}")
        if "next" in answer:
            self.card = answer["next"]["lease"]
            return True
        started = time.perf_counter()
        self.card = self._call("POST", f"/api/call/{self.op}/next")["lease"]
        timings.append((time.perf_counter() - started) * 1000)
        return True


class BareCaller:
    """The same loop on the bare app: each caller walks its own stretch of the targets."""

    def __init__(self, agent_id: int, start_after: int):
        self.agent = agent_id
        self.target: int | None = start_after

    def _next(self, after: int) -> int | None:
        status, payload, _cookie = _request(BARE_PORT, "POST", "/next", {"after": after}, {})
        if status != 200:
            raise RuntimeError(f"bare /next: {status}")
        lease = json.loads(payload)["lease"]
        return lease["target_id"] if lease else None

    def start(self) -> None:
        self.target = self._next(self.target or 0)

    def pair(self, timings: list[float]) -> bool:
        if self.target is None:
            return False
        started = time.perf_counter()
        status, _payload, _cookie = _request(BARE_PORT, "POST", "/result", {
            "target_id": self.target, "agent_id": self.agent,
            "client_id": uuid.uuid4().hex}, {})
        if status != 200:
            raise RuntimeError(f"bare /result: {status}")
        timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        self.target = self._next(self.target)
        timings.append((time.perf_counter() - started) * 1000)
        return True


def drive(callers: list, seconds: float, server: Gunicorn) -> dict:
    """Run the callers for `seconds` (after a 2-second warm-up); figures of the run."""
    for caller in callers:
        caller.start()
    phase = {"measuring": False, "stop": False}
    results = [([], [], []) for _ in callers]  # request ms, pair ms, errors

    def loop(caller, out):
        requests, pairs, errors = out
        while not phase["stop"]:
            timings: list[float] = []
            started = time.perf_counter()
            try:
                going = caller.pair(timings)
            except Exception as error:  # noqa: BLE001 - counted and shown
                errors.append(str(error)[:300])
                time.sleep(0.05)
                continue
            if not going:
                break
            if phase["measuring"]:
                requests.extend(timings)
                pairs.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=loop, args=(c, out), daemon=True) for c, out in zip(
        callers, results, strict=True)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    cpu_before, statements_before = server.cpu_seconds(), server.statements()
    client_before = time.process_time()
    phase["measuring"] = True
    started = time.perf_counter()
    time.sleep(seconds)
    phase["measuring"] = False
    elapsed = time.perf_counter() - started
    cpu_after, statements_after = server.cpu_seconds(), server.statements()
    client_cpu = time.process_time() - client_before
    phase["stop"] = True
    for thread in threads:
        thread.join()
    requests = [v for out in results for v in out[0]]
    pairs = [v for out in results for v in out[1]]
    errors = [e for out in results for e in out[2]]
    n = max(1, len(pairs))
    return {
        "pairs_per_s": round(len(pairs) / elapsed, 1),
        "request_p50_ms": round(percentile(requests, 0.5), 1),
        "request_p99_ms": round(percentile(requests, 0.99), 1),
        "pair_p50_ms": round(percentile(pairs, 0.5), 1),
        "pair_p99_ms": round(percentile(pairs, 0.99), 1),
        # Per pair, measured over the whole phase (pairs still open at its edges are few).
        "statements_per_pair": round((statements_after[0] - statements_before[0]) / n, 1),
        "begin_commit_per_pair": round((statements_after[1] - statements_before[1]) / n, 1),
        "app_cpu_ms_per_pair": round((cpu_after - cpu_before) * 1000 / n, 2),
        "client_cores": round(client_cpu / elapsed, 2),
        "pairs": len(pairs), "errors": len(errors), "first_error": errors[0] if errors else None,
    }


def run(args) -> dict:
    from ringround.throwaway_postgres import ThrowawayPostgres, benchmark_database

    scratch = tempfile.mkdtemp(prefix="ringround-bench-http-")
    server = None
    if args.backend == "postgresql" and not os.environ.get("PG_URL"):
        server = ThrowawayPostgres()
        server.port = PG_PORT
        server.start()
        url = server.create_database("bench_http")
    else:
        url, server = benchmark_database(args.backend, scratch, "bench_http")
    app_root = Path(args.app_root).resolve() if args.app_root else ROOT
    env = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": scratch,
           # The per-volunteer limits on people shown are the organizers' choice; a bench
           # caller goes far faster than a person.
           "CALLER_PEOPLE_PER_MINUTE": "1000000", "CALLER_PEOPLE_PER_HOUR": "100000000"}
    try:
        fill_started = time.perf_counter()
        op_id, agents, cookies = setup(url, args.targets, args.callers, scratch)
        fill_s = time.perf_counter() - fill_started
        figures: dict = {"db": args.backend, "workers": args.workers, "threads": args.threads,
                         "callers": args.callers, "targets": args.targets,
                         "label": args.label or str(app_root)}
        if not args.skip_app:
            app = Gunicorn("wsgi:app", APP_PORT, args.workers, args.threads, env, app_root)
            try:
                ours = drive([AppCaller(op_id, cookie) for cookie in cookies[:args.callers]],
                             args.seconds, app)
            finally:
                app.stop()
        bare = Gunicorn("bare:app", BARE_PORT, args.workers, args.threads,
                        {**env, "BENCH_OPERATION": str(op_id)}, ROOT,
                        HERE / "caller_http_server")
        try:
            step = args.targets // (args.callers + 1)
            theirs = drive([BareCaller(agents[i], i * step) for i in range(args.callers)],
                           args.seconds, bare)
        finally:
            bare.stop()
        if not args.skip_app:
            figures.update(ours)
            figures["ratio"] = round(ours["pairs_per_s"] / theirs["pairs_per_s"], 3)
        figures.update({"bare_" + key: value for key, value in theirs.items()
                        if key in ("pairs_per_s", "pair_p50_ms", "pair_p99_ms",
                                   "statements_per_pair", "begin_commit_per_pair",
                                   "app_cpu_ms_per_pair",
                                   "client_cores", "errors")})
        figures.update(fill_s=round(fill_s, 1), load_avg=round(os.getloadavg()[0], 2))
        return figures
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    # A SIGTERM stops gunicorn and the throwaway database too (the `finally` blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--targets", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--app-root", help="run gunicorn on this checkout (default: this one)")
    parser.add_argument("--label", help="a name for this configuration in the output")
    parser.add_argument("--port-base", type=int, default=5631,
                        help="PostgreSQL on this port, the app and bare gunicorns on the next two")
    parser.add_argument("--skip-app", action="store_true", help="only the bare baseline")
    args = parser.parse_args()
    global APP_PORT, BARE_PORT, PG_PORT
    PG_PORT, APP_PORT, BARE_PORT = args.port_base, args.port_base + 1, args.port_base + 2
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
