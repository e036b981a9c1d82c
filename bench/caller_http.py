"""Benchmark: the volunteer's hot path over HTTP, against gunicorn, beside a bare baseline app.

    python bench/caller_http.py [--backend sqlite|postgresql] [--targets 100000] [--callers 8]
        [--team 64] [--history N] [--workers 2] [--threads 1] [--seconds 10] [--rounds 6]
        [--app-root DIR] [--versus DIR] [--label NAME]

Fills N targets (as bench/queue.py does), starts gunicorn on the app and on the bare baseline
app (bench/caller_http_server/bare.py: an UPDATE by key, an INSERT and a commit, then a SELECT
of the next row by index) with the same gunicorn settings, and runs C simulated callers in this
process. On the app each loops "send the current card's result, get the next card" as fast as
it can through the phone's JSON API: POST /api/call/<op>/sync with the result (asking for the
next card in the same answer) and, when that answer carries no card (older code),
POST /api/call/<op>/next. On the bare app the same loop does the same database work.

The method: the machine's load moves the bare app's pairs/s by a third from one minute to
the next, so one run of each side in turn measured the load as much as the app. Both servers
stay up and the callers alternate between them in `--rounds` rounds of `--seconds` each side
(after a warm-up: 2 s at the first visit of a side, 1 s after), in ABBA order (app, bare;
bare, app; app, bare; ...), so a noisy minute hits both sides alike and a steady drift
cancels out over each two rounds (so an even number of rounds, 6 by default). `pairs_per_s`
and `bare_pairs_per_s` are the medians of the rounds' figures and `ratio` is the ratio of
those medians; `round_figures` has each round's pairs/s, ratio, app CPU a pair and the other
processes' share of the cores while each side ran (`others_cores`: the machine's busy CPU
less the server's, the database's and this process's, from /proc/stat), so a round the
neighbours hit shows as such.

Prints ONE JSON line: db, workers, threads, callers, targets, rounds, pairs_per_s,
bare_pairs_per_s, ratio, p50/p99 per request and per pair (ms, over all rounds' requests),
statements_per_pair and bare_statements_per_pair (SQL statements counted by the server's
database driver: bench/caller_http_server/hooks.py; BEGIN, COMMIT and ROLLBACK apart, in
begin_commit_per_pair), app_cpu_ms_per_pair (the gunicorn workers' CPU time over pairs, all
rounds together: steadier than pairs/s under load, the figure to compare code by),
client_cores (this process's CPU over the wall time: what the callers took from the server's
two cores), others_cores, load_avg (at the end) and round_figures.

The database is one that has run a campaign (`--history`, as many people as `--targets` by
default): an earlier, ended operation's targets, grants and results (`_history`). Without them
PostgreSQL's prepared statements keep plans made in the first second, on tables of a few rows,
until autovacuum analyzes them a minute later: the "slow window". Each simulated caller speaks
for a team of `--team` volunteers in turn (64 by default, `Team`): one volunteer going a
thousand times faster than a person would pile up grants that the caller limits count on every
request. `--history 0 --team 1` measures the way the first four rounds of #19 did.

`--app-root` runs gunicorn on another checkout of Ringround (say, main's worktree) with the same
database and callers. `--versus OTHER_CHECKOUT` runs that checkout as a third side in the same
rounds (app, versus, bare; then bare, versus, app; ...), on the same database with callers of
its own (give it targets enough for both: `--targets 200000`): before and after under the
same load, its figures prefixed `versus_`, and
`app_cpu_over_versus` the ratio of the two CPU a pair. PostgreSQL uses $PG_URL when set, else a
throwaway server on port 5631, whose CPU a pair (postmaster and backends) is `db_cpu_ms_per_pair`;
that server runs with the tests' settings (fsync, full-page writes and synchronous commits off:
the app's and the bare app's work, as #19's figures were measured) unless `--server durable`
(docs/deployment.md's settings: each commit then waits for the disk, which both sides share),
printed as `server_settings`.
gunicorn listens on ports 5632 (app), 5633 (bare) and 5634 (versus); `--port-base P` moves
them all to P, P+1, P+2, P+3. `callers_out_of_targets` above 0 means a side ran out of people
to call before a round ended (give more `--targets`). `BENCH_PROFILE_DIR=dir` writes each app
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
import statistics
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

APP_PORT, BARE_PORT, PG_PORT, VERSUS_PORT = 5632, 5633, 5631, 5634
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


BARE_ROWS = 5000


def _history(session, operation, agent_ids: list[int], rows: int) -> None:
    """An earlier, ended operation of the same organization, whose callers (the bench's own)
    called `rows` of its people: its targets, grants and attempts, as a database that has run
    a campaign holds them.

    Without them the tables of results and grants start empty, and PostgreSQL's prepared
    statements keep the plans made in the first second (a sequential scan of a table of a few
    rows) until autovacuum next analyzes those tables, 60-70 s in: until then the idempotency
    look-up by `client_id` and the grant counts read every row written so far, more with each
    pair (2,000 buffers a pair at 20,000 results; `pg_stat_statements`, `auto_explain`). That
    is a new database's first minute, not the steady state this bench measures, and it was
    the "slow window" of rounds 2-3."""
    from sqlalchemy import text

    from ringround.models import Operation, OperationState

    earlier = Operation(organization_id=operation.organization_id, name="Bench, last spring",
                        state=OperationState.ENDED, window_start=operation.window_start,
                        window_end=operation.window_end)
    session.add(earlier)
    session.flush()
    low, high = min(agent_ids), max(agent_ids)
    assert len(set(agent_ids)) == high - low + 1, "the bench's callers have consecutive ids"
    params = {"old": earlier.id, "op": operation.id, "k": rows, "low": low,
              "n": high - low + 1}
    if session.get_bind().dialect.name == "postgresql":
        before = "created_at - interval '200 days'"
        expires = "last_attempt_at + interval '10 minutes'"
    else:
        before = "datetime(created_at, '-200 days')"
        expires = "datetime(last_attempt_at, '+10 minutes')"
    # People of their own (no phones needed): a target of the earlier operation for one of
    # today's people would make them someone called in two operations, whose results take
    # the organization's call gap into account: other work than the bench's.
    newest = session.execute(text("SELECT max(id) FROM contacts")).scalar()
    session.execute(text(
        "INSERT INTO contacts (organization_id, first_name, time_zone, custom, do_not_contact, "
        "created_at, updated_at) SELECT organization_id, 'Earlier', time_zone, custom, "
        "do_not_contact, created_at, updated_at FROM contacts WHERE organization_id = :org "
        "ORDER BY id LIMIT :k"), {**params, "org": operation.organization_id})
    session.execute(text(
        "INSERT INTO targets (operation_id, contact_id, state, time_zone, attempts, "
        "next_eligible_at, last_attempt_at) "
        f"SELECT :old, id, 'done', time_zone, 1, {before}, {before} "
        "FROM contacts WHERE id > :newest"), {**params, "newest": newest})
    session.execute(text(
        "INSERT INTO lease_grants (operation_id, target_id, agent_id, granted_at, expires_at, "
        "ended_at, ended_by) "
        "SELECT :old, id, :low + id % :n, last_attempt_at, "
        f"{expires}, last_attempt_at, 'result' "
        "FROM targets WHERE operation_id = :old"), params)
    session.execute(text(
        "INSERT INTO attempts (client_id, operation_id, target_id, contact_id, agent_id, "
        "method, started_at, ended_at, disposition, disposition_group, answers, field_updates, "
        "created_at, recorded_at, outcome) "
        "SELECT 'history-' || id, :old, id, contact_id, :low + id % :n, 'phone', "
        "last_attempt_at, last_attempt_at, 'no_answer', 'retry', '{}', '{}', last_attempt_at, "
        "last_attempt_at, '{}' FROM targets WHERE operation_id = :old"), params)
    session.commit()


def setup(url: str, targets: int, callers: int, instance: str, history: int = 0,
          team: int = 1):
    """Fill the database; the operation, each caller's session cookie and CSRF token, and the
    first and last id of the targets set aside for the bare app.

    The bare app writes its own targets, set aside (`removed`, so never leased; the highest
    ids, BARE_ROWS of them besides bench/queue.py's own): walking the waiting ones, its
    UPDATEs (`attempts + 1`) moved rows in the index the app's leases read
    (`ix_targets_ready`), so each side's rounds changed the other's data."""
    from sqlalchemy import text

    from ringround.extensions import db
    from ringround.models import Operation, User

    bq = _bench_queue()
    app = bq.make_app(url, 4, instance)
    app.config["SECRET_KEY"] = SECRET
    identities = callers * team * 2  # the app's and the versus side's
    op_id, agent_ids = bq.fill(app, targets, callers=max(256, identities))
    with app.app_context():
        operation = db.session.get(Operation, op_id)
        # A short script with a placeholder and a question, as a real operation has.
        operation.script = "Hello {first_name}, I am {caller_name}. **Can we count on you?**"
        operation.questionnaire = {"questions": [
            {"id": "support", "text": "Will you vote?", "kind": "choice",
             "choices": ["Yes", "No"]}]}
        db.session.commit()
        db.session.execute(text(
            "UPDATE targets SET state = 'removed', reason = 'bench_bare' WHERE id IN "
            "(SELECT id FROM targets WHERE operation_id = :op AND state = 'waiting' "
            "ORDER BY id DESC LIMIT :k)"), {"op": op_id, "k": min(BARE_ROWS, targets // 4)})
        bare_first, bare_last = db.session.execute(text(
            "SELECT min(id), max(id) FROM targets WHERE operation_id = :op "
            "AND state = 'removed'"), {"op": op_id}).one()
        db.session.commit()
        if history:
            _history(db.session, operation, agent_ids[:identities], history)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        users = [db.session.get(User, agent_id) for agent_id in agent_ids[:identities]]
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
    return op_id, agent_ids[:identities], cookies, (bare_first, bare_last)


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

    def __init__(self, op_id: int, cookie: str, port: int):
        self.op = op_id
        self.port = port
        self.cookie = cookie
        self.token = ""
        self.card: dict | None = None

    def _call(self, method: str, path: str, body: dict | None = None):
        headers = {"Cookie": f"session={self.cookie}", "Accept": "application/json"}
        if self.token:
            headers["X-CSRFToken"] = self.token
        status, payload, set_cookie = _request(self.port, method, path, body, headers)
        if set_cookie and set_cookie.startswith("session="):
            self.cookie = set_cookie.split(";", 1)[0].split("=", 1)[1]
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload)

    def start(self) -> None:
        """The CSRF token and the first card (once: later rounds go on with the card held)."""
        if self.token:
            return
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


class Team:
    """One simulated caller speaking for a team of volunteers, each in turn: a result and the
    next card for one, then for the next. A bench caller goes about a thousand times faster
    than a person; alone, one volunteer would hold after three minutes the grants of a
    person's month, and the caller limits count a volunteer's grants of the last minute and
    hour on every request (at most 12 and 120 of them with the default limits; 2,000-7,000 a
    request in the bench before, growing through the run). The load on the server is the same:
    one request at a time per simulated caller."""

    def __init__(self, members: list[AppCaller]):
        self.members = members
        self.turn = 0

    def start(self) -> None:
        for member in self.members:
            member.start()

    def pair(self, timings: list[float]) -> bool:
        member = self.members[self.turn]
        self.turn = (self.turn + 1) % len(self.members)
        return member.pair(timings)


def _teams(op_id: int, cookies: list[str], port: int, size: int) -> list[Team]:
    members = [AppCaller(op_id, cookie, port) for cookie in cookies]
    return [Team(members[i:i + size]) for i in range(0, len(members), size)]


class BareCaller:
    """The same loop on the bare app: each caller walks its own stretch of the targets set
    aside for it (`setup`)."""

    def __init__(self, agent_id: int, start_after: int, first_after: int):
        self.agent = agent_id
        self.target: int | None = start_after
        self.first_after = first_after  # where the bare app's own targets start
        self.started = False

    def _next(self, after: int) -> int | None:
        """The next target after `after`; past the last one, the first of the bare app's own
        again (the rounds take each caller round them a few times)."""
        status, payload, _cookie = _request(BARE_PORT, "POST", "/next", {"after": after}, {})
        if status != 200:
            raise RuntimeError(f"bare /next: {status}")
        lease = json.loads(payload)["lease"]
        if lease is None and after > self.first_after:
            return self._next(self.first_after)
        return lease["target_id"] if lease else None

    def start(self) -> None:
        if not self.started:
            self.target = self._next(self.target or 0)
            self.started = True

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


def _machine_busy_seconds() -> float:
    """CPU time the whole machine has been busy (all cores, all processes), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int, children: bool = False) -> float:
    """A process's user and system time (with its reaped children's when `children`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(v) for v in fields[11:15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# The throwaway PostgreSQL server's postmaster.pid (None on SQLite or with $PG_URL).
DB_PIDFILE: Path | None = None


def _db_cpu_seconds() -> float:
    """The throwaway PostgreSQL server's CPU time so far: the postmaster (with the backends
    it has reaped) and its live backends. 0 without one."""
    if DB_PIDFILE is None:
        return 0.0
    try:
        postmaster = int(DB_PIDFILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return _process_cpu_seconds(postmaster, children=True) + sum(
        _process_cpu_seconds(pid) for pid in _children(postmaster))


def drive(callers: list, seconds: float, server: Gunicorn, warm_up: float = 2.0) -> dict:
    """Run the callers for `seconds` (after a warm-up); the raw figures of the run (`summary`
    turns one or more of them into the printed ones)."""
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
    time.sleep(warm_up)
    cpu_before, statements_before = server.cpu_seconds(), server.statements()
    client_before, machine_before = time.process_time(), _machine_busy_seconds()
    db_before = _db_cpu_seconds()
    phase["measuring"] = True
    started = time.perf_counter()
    time.sleep(seconds)
    phase["measuring"] = False
    elapsed = time.perf_counter() - started
    cpu_after, statements_after = server.cpu_seconds(), server.statements()
    client_cpu = time.process_time() - client_before
    machine = _machine_busy_seconds() - machine_before
    db_cpu = _db_cpu_seconds() - db_before
    done = sum(1 for thread in threads if not thread.is_alive())  # out of targets
    phase["stop"] = True
    for thread in threads:
        thread.join()
    return {
        "elapsed": elapsed, "server_cpu": cpu_after - cpu_before, "client_cpu": client_cpu,
        "machine_cpu": machine, "db_cpu": db_cpu,
        "callers_done": done,
        "statements": statements_after[0] - statements_before[0],
        "begin_commit": statements_after[1] - statements_before[1],
        "requests": [v for out in results for v in out[0]],
        "pairs": [v for out in results for v in out[1]],
        "errors": [e for out in results for e in out[2]],
    }


def summary(runs: list[dict]) -> dict:
    """The printed figures of one side over its rounds: the median round's pairs/s,
    percentiles over every request and pair, statements and CPU over all pairs together."""
    requests = [v for run in runs for v in run["requests"]]
    pairs = [v for run in runs for v in run["pairs"]]
    errors = [e for run in runs for e in run["errors"]]
    elapsed = sum(run["elapsed"] for run in runs)
    n = max(1, len(pairs))
    return {
        "pairs_per_s": round(statistics.median(len(run["pairs"]) / run["elapsed"]
                                               for run in runs), 1),
        "request_p50_ms": round(percentile(requests, 0.5), 1),
        "request_p99_ms": round(percentile(requests, 0.99), 1),
        "pair_p50_ms": round(percentile(pairs, 0.5), 1),
        "pair_p99_ms": round(percentile(pairs, 0.99), 1),
        # Per pair, measured over the whole phase (pairs still open at its edges are few).
        "statements_per_pair": round(sum(run["statements"] for run in runs) / n, 1),
        "begin_commit_per_pair": round(sum(run["begin_commit"] for run in runs) / n, 1),
        "app_cpu_ms_per_pair": round(sum(run["server_cpu"] for run in runs) * 1000 / n, 2),
        "db_cpu_ms_per_pair": round(sum(run["db_cpu"] for run in runs) * 1000 / n, 2),
        "client_cores": round(sum(run["client_cpu"] for run in runs) / elapsed, 2),
        "others_cores": round(sum(_others(run) for run in runs) / elapsed, 2),
        "pairs": len(pairs), "errors": len(errors), "first_error": errors[0] if errors else None,
        # Callers that found nobody left to call before a round ended (too few --targets).
        "callers_out_of_targets": max(run["callers_done"] for run in runs),
    }


def _others(run: dict) -> float:
    """CPU seconds the rest of the machine took while a side ran: other work (and the
    database server's, when it is not the bench's throwaway one)."""
    return max(0.0, run["machine_cpu"] - run["server_cpu"] - run["client_cpu"]
               - run["db_cpu"])


def _round_figures(runs: dict[str, dict], order: str) -> dict:
    """One round's figures per side, to see how much the rounds agree."""
    bare = runs["bare"]
    bare_rate = len(bare["pairs"]) / bare["elapsed"]
    figures: dict = {"order": order, "bare_pairs_per_s": round(bare_rate, 1),
                     "bare_others_cores": round(_others(bare) / bare["elapsed"], 2)}
    for side, prefix in (("app", ""), ("versus", "versus_")):
        if side in runs:
            run = runs[side]
            rate = len(run["pairs"]) / run["elapsed"]
            figures.update({
                prefix + "pairs_per_s": round(rate, 1),
                prefix + "ratio": round(rate / bare_rate, 3) if bare_rate else None,
                prefix + "app_cpu_ms_per_pair": round(
                    run["server_cpu"] * 1000 / max(1, len(run["pairs"])), 2),
                prefix + "statements_per_pair": round(
                    run["statements"] / max(1, len(run["pairs"])), 1),
                prefix + "others_cores": round(_others(run) / run["elapsed"], 2)})
    return figures


def run(args) -> dict:
    from ringround.throwaway_postgres import (
        FAST_SETTINGS,
        PRODUCTION_SETTINGS,
        ThrowawayPostgres,
        benchmark_database,
    )

    scratch = tempfile.mkdtemp(prefix="ringround-bench-http-")
    server = None
    if args.backend == "postgresql" and not os.environ.get("PG_URL"):
        server = ThrowawayPostgres(settings=PRODUCTION_SETTINGS if args.server == "durable"
                                   else FAST_SETTINGS)
        server.port = PG_PORT
        server.start()
        url = server.create_database("bench_http")
        global DB_PIDFILE
        DB_PIDFILE = server.data / "postmaster.pid"
    else:
        url, server = benchmark_database(args.backend, scratch, "bench_http")
    app_root = Path(args.app_root).resolve() if args.app_root else ROOT
    env = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": scratch,
           # The per-volunteer limits on people shown are the organizers' choice; a bench
           # caller goes far faster than a person.
           "CALLER_PEOPLE_PER_MINUTE": "1000000", "CALLER_PEOPLE_PER_HOUR": "100000000"}
    try:
        fill_started = time.perf_counter()
        op_id, agents, cookies, (bare_first, bare_last) = setup(
            url, args.targets, args.callers, scratch, args.history, args.team)
        fill_s = time.perf_counter() - fill_started
        figures: dict = {"db": args.backend, "workers": args.workers, "threads": args.threads,
                         "callers": args.callers, "targets": args.targets,
                         "rounds": args.rounds, "history": args.history, "team": args.team,
                         "server_settings": server.settings if server else None,
                         "label": args.label or str(app_root)}
        servers = {"bare": Gunicorn("bare:app", BARE_PORT, args.workers, args.threads,
                                    {**env, "BENCH_OPERATION": str(op_id)}, ROOT,
                                    HERE / "caller_http_server")}
        step = (bare_last - bare_first) // args.callers
        callers = {"bare": [BareCaller(agents[i], bare_first - 1 + i * step, bare_first - 1)
                            for i in range(args.callers)]}
        try:
            if not args.skip_app:
                servers["app"] = Gunicorn("wsgi:app", APP_PORT, args.workers, args.threads,
                                          env, app_root)
                callers["app"] = _teams(op_id, cookies[:args.callers * args.team], APP_PORT,
                                        args.team)
            if args.versus:
                servers["versus"] = Gunicorn("wsgi:app", VERSUS_PORT, args.workers,
                                             args.threads, env, Path(args.versus).resolve())
                callers["versus"] = _teams(op_id, cookies[args.callers * args.team:],
                                           VERSUS_PORT, args.team)
            sides = [side for side in ("app", "versus", "bare") if side in servers]
            runs: dict[str, list[dict]] = {side: [] for side in sides}
            for number in range(args.rounds):
                # ABBA: the sides in turn, in reverse order every other round.
                for side in sides if number % 2 == 0 else sides[::-1]:
                    runs[side].append(drive(callers[side], args.seconds, servers[side],
                                            warm_up=1.0 if runs[side] else 2.0))
        finally:
            for server_of_side in servers.values():
                server_of_side.stop()
        theirs = summary(runs["bare"])
        for side, prefix in (("app", ""), ("versus", "versus_")):
            if side in runs:
                ours = summary(runs[side])
                figures.update({prefix + key: value for key, value in ours.items()})
                figures[prefix + "ratio"] = round(ours["pairs_per_s"] / theirs["pairs_per_s"],
                                                  3)
        if args.versus:
            figures["versus_label"] = str(Path(args.versus).resolve())
            figures["app_cpu_over_versus"] = round(
                figures["app_cpu_ms_per_pair"] / figures["versus_app_cpu_ms_per_pair"], 3)
        figures.update({"bare_" + key: value for key, value in theirs.items()
                        if key in ("pairs_per_s", "pair_p50_ms", "pair_p99_ms",
                                   "statements_per_pair", "begin_commit_per_pair",
                                   "app_cpu_ms_per_pair", "db_cpu_ms_per_pair",
                                   "client_cores", "others_cores", "errors",
                                   "callers_out_of_targets")})
        figures["round_figures"] = [
            _round_figures({side: runs[side][i] for side in sides},
                           ",".join(sides if i % 2 == 0 else sides[::-1]))
            for i in range(args.rounds)]
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
    # Six rounds of 10 s at 400 pairs/s call 24,000 people: fewer targets and a side runs dry
    # (`callers_out_of_targets`), which ends its rounds early and spoils its medians.
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=None,
                        help="people called in an earlier operation, whose grants and results "
                             "the database holds (default: as many as --targets; 0: none)")
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--team", type=int, default=64,
                        help="volunteers each simulated caller speaks for, in turn (1: one "
                             "volunteer as fast as the server goes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds of each side in each round")
    parser.add_argument("--rounds", type=int, default=6,
                        help="rounds of app and bare in turn (ABBA order); medians are printed")
    parser.add_argument("--app-root", help="run gunicorn on this checkout (default: this one)")
    parser.add_argument("--label", help="a name for this configuration in the output")
    parser.add_argument("--versus", help="another checkout run as a third side in the same "
                        "rounds (its figures prefixed versus_): before and after in one run")
    parser.add_argument("--port-base", type=int, default=5631,
                        help="PostgreSQL on this port, the app and bare gunicorns on the next two")
    parser.add_argument("--server", choices=["fast", "durable"], default="fast",
                        help="the throwaway PostgreSQL's settings: the tests' fast ones (fsync, "
                             "full-page writes and synchronous commits off; default) or durable "
                             "as docs/deployment.md recommends")
    parser.add_argument("--skip-app", action="store_true", help="only the bare baseline")
    args = parser.parse_args()
    if args.history is None:
        args.history = args.targets
    global APP_PORT, BARE_PORT, PG_PORT, VERSUS_PORT
    PG_PORT, APP_PORT, BARE_PORT = args.port_base, args.port_base + 1, args.port_base + 2
    VERSUS_PORT = args.port_base + 3
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
