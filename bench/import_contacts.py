"""Benchmark: generate N messy contact rows and import them through the real import code.

    python bench/import_contacts.py --rows 100000 [--backend sqlite|postgresql] [--workers 2]
                                    [--via job|direct]

PostgreSQL: the database of `$PG_URL` when set (a fresh one is best), else a throwaway server
(on `--pg-port`, else a free port) that is durable (fsync, full-page writes, synchronous
commits) with the settings docs/deployment.md recommends, printed as `server_settings`.
`--via job` (the default) goes the way every import goes: an import job queued in the
embedded SQLite job queue, then taken and run by this process as a worker would
(`huey.dequeue()`, `huey.execute()`), checkpoints and all; `--via direct` calls
`import_contacts` itself.

Prints one JSON line: rows, seconds (the import only, not the generation), rows_per_s,
peak_rss_mb (the importing process and its worker processes together, sampled every 50 ms),
cpu_seconds (this process and its workers: on a busy shared machine, cpu_seconds / cores
is what the import would take alone), main_cpu_seconds (this process alone: the merge and
the writes, which wait for the server in turn), server_cpu_seconds (a PostgreSQL server on this
machine: its processes' CPU during the import), and the import's counts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

# As a script, bench/ comes first on sys.path, where queue.py (the queue benchmark) would
# shadow the standard library's `queue`: put the project root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

FIRST = ["Maria", "Jonas", "Aïcha", "Lars", "Sofie", "Pierre", "Fatima", "Emma", "Noah",
         "Chloé", "Sven", "Daan", "Inès", "Oskar", "Lotte", "Malik", "Zoë", "Björn", "Anaïs"]
LAST = ["García", "Berg", "Diallo", "Janssen", "Dubois", "Lindqvist", "de Vries", "Martin",
        "Öberg", "Bakker", "Nguyen", "Moreau", "Smith", "Åström", "van Dijk"]
STREETS = ["rue de la Paix", "Storgatan", "Kerkstraat", "Main Street", "High Street",
           "avenue Jean Jaurès", "Drottninggatan", "Dorpsstraat"]
CITIES = {"FR": ("Lyon", "69001"), "SE": ("Göteborg", "411 01"), "NL": ("Utrecht", "3511 AB"),
          "US": ("Boston", "02108"), "GB": ("Leeds", "LS1 4AP"), "BE": ("Liège", "4000")}


def fake_number(rng: random.Random, country: str, n: int) -> str:
    """A valid-looking number for `country`, written one of several ways."""
    style = rng.random()
    if country == "FR":
        digits = f"6{n % 100_000_000:08d}"
        return rng.choice([f"0{digits[0]} {digits[1:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}",
                           f"+33 {digits}", f"0033{digits}", f"0{digits}"])
    if country == "SE":
        digits = f"70{n % 10_000_000:07d}"
        return f"0{digits[:2]}-{digits[2:5]} {digits[5:]}" if style < .5 else f"+46{digits}"
    if country == "NL":
        digits = f"6{1 + n % 5}{n % 10_000_000:07d}"
        return f"06-{digits[1:]}" if style < .5 else f"+31 6 {digits[1:]}"
    if country == "US":
        digits = f"{rng.choice(['617', '212', '415', '312'])}555{n % 10_000:04d}"
        digits = f"{digits[:3]}{200 + n // 10_000 % 800:03d}{digits[6:]}"
        number = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        return number + (" x12" if style < .02 else "")
    if country == "GB":
        return f"07400 {n % 1_000_000:06d}" if style < .5 else f"+44 7800 {n % 1_000_000:06d}"
    return f"+32 470 {n % 1_000_000:06d}"


def write_rows(path: Path, rows: int, seed: int = 7) -> None:
    """Write `rows` messy rows: six countries, duplicates, bad numbers, households."""
    rng = random.Random(seed)
    countries = list(CITIES)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("First name;Last name;Phone;Mobile;Email;Address;Zip;City;Country;Tags\n")
        for i in range(rows):
            country = countries[i % len(countries)]
            city, postcode = CITIES[country]
            roll = rng.random()
            n = i if roll > .03 else max(i - rng.randint(1, 500), 0)  # ~3% duplicates
            phone = fake_number(rng, country, n * 7919 % 99_999_989)
            if roll > .99:
                phone = rng.choice(["n/a", "12", "6.12E+10", ""])  # ~1% bad rows
            mobile = fake_number(rng, country, (n * 31 + 17) % 99_999_989) if roll < .2 else ""
            email = f"person{n}@example.org" if rng.random() < .6 else ""
            house = n // 3 if rng.random() < .3 else n
            tags = rng.choice(["", "member", "volunteer,member", "donor"])
            handle.write(f"{rng.choice(FIRST)};{rng.choice(LAST)};{phone};{mobile};{email};"
                         f"{house % 997} {rng.choice(STREETS)} {house};{postcode};{city};"
                         f"{country};{tags}\n")


class PeakRss(threading.Thread):
    """Samples the RSS of this process and its children."""

    def __init__(self):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self.main_peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            total = main = 0
            with contextlib.suppress(Exception):  # a child may exit while we look
                main = self.process.memory_info().rss
                total = main + sum(
                    c.memory_info().rss for c in self.process.children(recursive=True))
            self.peak = max(self.peak, total)
            self.main_peak = max(self.main_peak, main)
            time.sleep(0.05)


def server_cpu(url: str) -> float | None:
    """CPU seconds used so far by a PostgreSQL server on this machine (its processes, live
    and ended), found by the port it listens on; None for SQLite or a server elsewhere."""
    import psutil
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.host not in ("127.0.0.1", "localhost"):
        return None
    port = parsed.port or 5432
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                main = psutil.Process(conn.pid)
                total = sum(main.cpu_times()[:4])  # its own and its ended children's
                for child in main.children():
                    with contextlib.suppress(psutil.Error):
                        total += sum(child.cpu_times()[:2])
                return total
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", "--database", dest="database",
                        choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-port", type=int, default=None,
                        help="the throwaway PostgreSQL server's port (without $PG_URL)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the file, database, report")
    parser.add_argument("--via", choices=["job", "direct"], default="job")
    args = parser.parse_args()

    from ringround import create_app
    from ringround.accounts import create_organization, create_password_user
    from ringround.extensions import db
    from ringround.people.importer import import_contacts

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    source = workdir / "contacts.csv"
    write_rows(source, args.rows)
    server = None
    if args.database == "postgresql" and not os.environ.get("PG_URL"):
        from ringround.throwaway_postgres import PRODUCTION_SETTINGS, ThrowawayPostgres

        # Durable, as docs/deployment.md recommends (not the tests' fsync=off)
        server = ThrowawayPostgres(port=args.pg_port, settings=PRODUCTION_SETTINGS).start()
        url = server.create_database("bench")
    else:
        from ringround.throwaway_postgres import benchmark_database

        url, _server = benchmark_database(args.database, str(workdir), "bench")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "JOB_QUEUE_URL": f"sqlite:///{workdir / 'jobs.sqlite3'}",
                      "JOBS_IMMEDIATE": False},
                     instance_path=str(workdir / "instance"))
    try:
        with app.app_context():
            db.create_all()
            user = create_password_user(db.session, email="bench@example.org",
                                        password="bench password", display_name="Bench")
            org = create_organization(db.session, name="Bench", admin=user)
            org.default_region = "FR"
            db.session.commit()
            main_before = _cpu(resource.RUSAGE_SELF)
            cpu_before = main_before + _cpu(resource.RUSAGE_CHILDREN)
            server_before = server_cpu(url)
            sampler = PeakRss()
            sampler.start()
            started = time.perf_counter()
            if args.via == "job":
                counts = _through_the_queue(db.session, org.id, source, args.workers)
            else:
                summary, _report = import_contacts(
                    db.session, org.id, source, workers=args.workers,
                    report_path=workdir / "report.csv")
                counts = summary.as_dict()
            seconds = time.perf_counter() - started
            server_after = server_cpu(url)
            sampler.stop.set()
            sampler.join()
    finally:
        if server:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)  # a 1M-row run leaves ~1 GB
    main_cpu = _cpu(resource.RUSAGE_SELF) - main_before
    cpu_seconds = main_cpu + _cpu(resource.RUSAGE_CHILDREN) - (cpu_before - main_before)
    counts["imported"] = counts.pop("rows")
    print(json.dumps({
        "rows": args.rows, "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds), "peak_rss_mb": round(sampler.peak / 2**20),
        "main_peak_rss_mb": round(sampler.main_peak / 2**20), "cpu_seconds": round(cpu_seconds, 1),
        "main_cpu_seconds": round(main_cpu, 1),
        "server_cpu_seconds": (round(server_after - server_before, 1)
                               if server_before is not None and server_after is not None
                               else None),
        "database": args.database,
        "server_settings": server.settings if server else None,
        "via": args.via, "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2), **counts,
    }))


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _through_the_queue(session, org_id: int, source: Path, workers: int | None) -> dict:
    """Queue the import as `flask contacts import --no-wait` does, then run the queued job
    here as a worker would. Returns the job's summary."""
    from ringround.background import huey
    from ringround.models import ImportJob
    from ringround.people import jobs
    from ringround.people.headers import auto_map
    from ringround.people.reader import open_table

    with source.open("rb") as stream:
        filename, stored = jobs.store_uploads([(source.name, stream)])
    job = jobs.receive_upload(session, org_id, None, filename, stored, jobs.file_limit())
    table = open_table(jobs.upload_path(job))
    job.headers, job.mapping = table.headers, auto_map(table.headers)
    jobs.start_job(session, job, workers)
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
    session.rollback()
    job = session.get(ImportJob, job.id, populate_existing=True)
    if job.status != "done":
        raise SystemExit(f"the import job ended {job.status}: {job.message}")
    return dict(job.summary)


if __name__ == "__main__":
    main()
