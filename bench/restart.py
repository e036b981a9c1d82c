"""Benchmark: how long Ringround takes to answer /healthz again after kill -9 under load.

    python bench/restart.py [--backend sqlite|postgresql] [--runs 5] [--port 5691]
                            [--modes preload,plain]

Each run: start gunicorn (sync workers) on a database that a contacts import is writing to
(the load: big transactions, a growing SQLite WAL) while clients poll /healthz; after
`--load-seconds`, kill -9 gunicorn's master and workers and the importing process at once (a
crash: nothing is shut down cleanly, the WAL and its `-shm` index stay behind); start
gunicorn again and time the first 200 from /healthz. Prints one JSON line per run (with
the CPU seconds gunicorn's processes used until that first 200: on a shared machine, the
figure that does not depend on the others' load) and one summary line (median and max
seconds), with the size of the `-wal` file left at each crash.
`--modes` restarts gunicorn with `--preload` (the app built once in the master, then forked:
what Procfile runs) and/or without it (each worker imports and builds the app), alternating
run by run so that both meet the same load; the summary has one line per mode.
PostgreSQL: `$PG_URL` when set, else a throwaway server.

Our modules are byte-compiled first (`__pycache__/`, ignored by git), as `pip install .` does
in a deployment; `--no-bytecode` measures a source tree under PYTHONDONTWRITEBYTECODE=1,
where every start compiles ~100 modules again (about a second of CPU per worker).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py would shadow the standard library's `queue`
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))

IMPORTER = """
import sys
from bench.import_contacts import write_rows
from pathlib import Path
from ringround import create_app
from ringround.extensions import db
from ringround.models import Organization
from ringround.people.importer import import_contacts
source = Path(sys.argv[1])
write_rows(source, int(sys.argv[2]), seed=int(sys.argv[3]))
app = create_app()
with app.app_context():
    org = db.session.query(Organization).first()
    print("importing", flush=True)
    import_contacts(db.session, org.id, source, workers=1)
"""


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own server
            return response.status == 200
    except OSError:
        return False


def wait_healthy(url: str, limit: float) -> float:
    """Seconds until `url` answers 200 (polled every 20 ms); raises after `limit`."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if healthy(url):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer within {limit} s")


def cpu_of_group(process: subprocess.Popen) -> float:
    """CPU seconds used so far by gunicorn's master and its live workers."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.Error):
        master = psutil.Process(process.pid)
        for each in (master, *master.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                total += sum(each.cpu_times()[:2])
    return total


def start_gunicorn(port: int, workers: int, env: dict, preload: bool = True) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own command
        [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", *(["--preload"] if preload else []), "wsgi:app"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill9(process: subprocess.Popen) -> None:
    """kill -9 the process and its whole group (gunicorn's workers), at once."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def poll(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        healthy(url)
        time.sleep(0.01)


def prepare(env: dict) -> None:
    """Schema (create_all, as the tests do) and one organization to import into."""
    code = ("from ringround import create_app\n"
            "from ringround.extensions import db\n"
            "from ringround.accounts import create_organization, create_password_user\n"
            "app = create_app()\n"
            "with app.app_context():\n"
            "    db.create_all()\n"
            "    u = create_password_user(db.session, email='b@example.org',"
            " password='bench password', display_name='B')\n"
            "    create_organization(db.session, name='Bench', admin=u)\n"
            "    db.session.commit()\n")
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True)  # noqa: S603


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=5691)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load-seconds", type=float, default=8.0)
    parser.add_argument("--rows", type=int, default=300_000, help="rows the load imports")
    parser.add_argument("--modes", default="preload",
                        help="comma-separated: preload, plain (alternated run by run)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="do not byte-compile our modules first")
    args = parser.parse_args()

    from ringround.throwaway_postgres import benchmark_database

    scratch = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    url, server = benchmark_database(args.backend, str(scratch), "restart")
    env = {**os.environ, "INSTANCE_PATH": str(scratch / "instance"), "DATABASE_URL": url,
           "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    if not args.no_bytecode:
        subprocess.run([PYTHON, "-m", "compileall", "-q", "ringround", "pwa", "sms",  # noqa: S603
                        "sharing", "wsgi.py"], cwd=ROOT, env=env, check=True)
    health = f"http://127.0.0.1:{args.port}/healthz"
    wal = scratch / "bench.sqlite-wal"
    modes = args.modes.split(",")
    results: dict[str, list[float]] = {mode: [] for mode in modes}
    cpus: dict[str, list[float]] = {mode: [] for mode in modes}
    loads: list[float] = []
    try:
        prepare(env)
        for run in range(args.runs * len(modes)):
            mode = modes[run % len(modes)]
            web = start_gunicorn(args.port, args.workers, env)
            first_start = wait_healthy(health, 120)
            importer = subprocess.Popen(  # noqa: S603 - our own code
                [PYTHON, "-c", IMPORTER, str(scratch / f"load{run}.csv"), str(args.rows),
                 str(run)], cwd=ROOT, env=env, start_new_session=True,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            importer.stdout.readline()  # "importing": the file is written, the import begins
            stop = threading.Event()
            pollers = [threading.Thread(target=poll, args=(health, stop), daemon=True)
                       for _ in range(4)]
            for poller in pollers:
                poller.start()
            time.sleep(args.load_seconds)
            kill9(importer)
            kill9(web)
            stop.set()
            for poller in pollers:
                poller.join()
            wal_mb = wal.stat().st_size / 2**20 if wal.exists() else 0.0
            web = start_gunicorn(args.port, args.workers, env, preload=mode == "preload")
            try:
                seconds = wait_healthy(health, 120)
                cpu = cpu_of_group(web)
            finally:
                web.send_signal(signal.SIGTERM)
                web.wait()
            result = {"run": run + 1, "backend": args.backend, "mode": mode,
                      "restart_s": round(seconds, 2),
                      "bytecode": not args.no_bytecode, "restart_cpu_s": round(cpu, 2),
                      "first_start_s": round(first_start, 2), "wal_mb_at_crash": round(wal_mb),
                      "load_avg_1m": round(os.getloadavg()[0], 2)}
            results[mode].append(seconds)
            cpus[mode].append(cpu)
            loads.append(os.getloadavg()[0])
            print(json.dumps(result), flush=True)
    finally:
        if server:
            server.stop()
        subprocess.run(["rm", "-rf", str(scratch)], check=False)  # noqa: S603, S607
    for mode in modes:
        print(json.dumps({"backend": args.backend, "mode": mode, "bytecode": not args.no_bytecode,
                          "runs": len(results[mode]),
                          "median_s": round(statistics.median(results[mode]), 2),
                          "max_s": round(max(results[mode]), 2),
                          "median_cpu_s": round(statistics.median(cpus[mode]), 2),
                          "median_load_1m": round(statistics.median(loads), 2),
                          "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
