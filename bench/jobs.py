"""Benchmark: the job queue's throughput, on the embedded SQLite storage and on Redis.

    python bench/jobs.py [--jobs 10000] [--workers 2] [--storage sqlite redis]

For each storage: enqueue `--jobs` small jobs (the heartbeat: an app context, a session,
one key written) and time it (enqueue rate); then start a real `flask worker -w N`
(threads) and time how fast it empties the queue (worker throughput, from its first job
to its last). Redis is a throwaway `redis-server` started here. Prints one JSON line per
storage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# As a script, bench/ comes first on sys.path, where queue.py (the queue benchmark) would
# shadow the standard library's `queue`: put the project root there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)


def run(storage: str, jobs: int, workers: int, workdir: Path) -> dict:
    from ringround import create_app
    from ringround.background import heartbeat, huey
    from ringround.extensions import db
    from ringround.throwaway_redis import ThrowawayRedis

    redis = ThrowawayRedis(root=workdir / "redis").start() if storage == "redis" else None
    queue_url = redis.url if redis else f"sqlite:///{workdir / 'jobs.sqlite3'}"
    database = f"sqlite:///{workdir / 'app.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "bench",
                      "JOB_QUEUE_URL": queue_url, "JOBS_IMMEDIATE": False},
                     instance_path=str(workdir / "instance"))
    try:
        with app.app_context():
            db.create_all()
            huey.flush()
            started = time.perf_counter()
            for _ in range(jobs):
                heartbeat()
            enqueue_seconds = time.perf_counter() - started
            assert len(huey) == jobs
            env = dict(os.environ, SECRET_KEY="bench", DATABASE_URL=database,
                       INSTANCE_PATH=str(workdir / "instance"), JOB_QUEUE_URL=queue_url)
            env.pop("JOBS_IMMEDIATE", None)
            worker = subprocess.Popen(  # noqa: S603 - our own command
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "-w", str(workers),
                 "--no-periodic"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            try:
                while len(huey) == jobs:
                    time.sleep(0.01)
                first = time.perf_counter()
                left = len(huey)
                while len(huey):
                    time.sleep(0.01)
                work_seconds = time.perf_counter() - first
            finally:
                worker.send_signal(signal.SIGINT)
                worker.wait(timeout=60)
            db.session.remove()
            db.engine.dispose()
    finally:
        if redis:
            redis.stop()
    done = left  # from the first job taken to the last
    return {"storage": storage, "jobs": jobs, "workers": workers,
            "enqueue_seconds": round(enqueue_seconds, 2),
            "enqueue_per_s": round(jobs / enqueue_seconds),
            "worker_seconds": round(work_seconds, 2),
            "worker_per_s": round(done / work_seconds) if work_seconds else None,
            "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--storage", nargs="+", choices=["sqlite", "redis"],
                        default=["sqlite", "redis"])
    args = parser.parse_args()
    for storage in args.storage:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-jobs-{storage}-"))
        try:
            print(json.dumps(run(storage, args.jobs, args.workers, workdir)), flush=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
