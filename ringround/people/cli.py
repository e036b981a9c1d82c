"""`flask --app wsgi contacts …`: import, export and erase from the command line."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ringround.background import WORKER_SILENT_AFTER, worker_last_seen
from ringround.csv_stream import csv_chunks
from ringround.extensions import db
from ringround.models import ContactPhone, ImportJob, ImportStatus, Organization
from ringround.organizations import default_region
from ringround.people.contacts import get_contact
from ringround.people.erasure import erase_contact
from ringround.people.export import export_csv
from ringround.people.filters import list_by_name
from ringround.people.headers import auto_map, is_valid_target
from ringround.people.import_words import file_problem, report_words, worded_rows
from ringround.people.jobs import (
    file_limit,
    imports_dir,
    purge_imports,
    receive_upload,
    report_path,
    start_job,
    store_uploads,
)
from ringround.people.reader import TableError, open_table
from ringround.phones import PhoneError, parse_phone

contacts_cli = AppGroup("contacts", help="Import, export and erase contacts.")

# `flask contacts import` exit codes, for scripts (README, "Command line").
EXIT_ALL_IMPORTED = 0
EXIT_NOTHING_IMPORTED = 1  # every row rejected, or the file refused (click's own code)
EXIT_SOME_REJECTED = 3  # imported, but some rows were rejected (2 is click's usage error)


def organization_by_slug(slug: str) -> Organization:
    """The organization of `--org SLUG`, or a clear error."""
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise click.ClickException(f"No organization with slug {slug!r}.")
    return org


@contacts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="The organization's slug.")
@click.option("--default-region", default=None,
              help="Country (e.g. FR) of national numbers without a country column "
                   "(default: the organization's country).")
@click.option("--tag", "tags", multiple=True, help="A tag for every imported contact.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help="Override the guessed field of a column (e.g. 'Tel. 2=mobile').")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the report of rejected rows and remarks (CSV). "
                   "Default: a new file in the instance folder's imports/.")
@click.option("--workers", type=int, default=None, help="Parsing processes (default: auto).")
@click.option("--consent-source", default=None,
              help="vCards (required): where these contacts come from.")
@click.option("--consent-purpose", default=None,
              help="vCards (required): what these people will be called about.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait for the import (run by a worker) with a progress bar, or only "
                   "queue it.")
def import_command(file: Path, slug: str, default_region: str | None, tags: tuple[str, ...],
                   maps: tuple[str, ...], report: Path | None, workers: int | None,
                   consent_source: str | None, consent_purpose: str | None,
                   wait: bool) -> None:
    """Import contacts from a CSV or XLSX FILE, or vCards (a .vcf file or a zip of them,
    with --consent-source and --consent-purpose).

    The file is copied to the instance folder and imported by the same job as a web upload,
    in a worker (`flask worker`); this command waits for it with a progress bar, unless
    --no-wait. Prints the counts and the report's path. Exit code: 0 every row imported;
    3 imported, but some rows rejected (see the report); 1 nothing imported (every row
    rejected, or the file refused)."""
    org = organization_by_slug(slug)
    try:
        table = open_table(file)
    except TableError as error:
        raise click.ClickException(file_problem(error, report_words("en"))) from error
    mapping = auto_map(table.headers)
    for item in maps:
        column, _, target = item.partition("=")
        if column.strip() not in table.headers or not is_valid_target(target.strip()):
            raise click.ClickException(f"Cannot map {item!r}: unknown column or field.")
        mapping[table.headers.index(column.strip())] = target.strip()
    if table.kind == "vcard" and not (consent_source and consent_purpose):
        raise click.ClickException(
            "vCards need a consent note: --consent-source and --consent-purpose (where "
            "these contacts come from, what they will be called about).")
    for header, target in zip(table.headers, mapping, strict=True):
        click.echo(f"  {header!r} → {target}", err=True)
    job = _queue_import(file, org.id, table.headers, mapping, default_region, list(tags),
                        consent_source, consent_purpose, workers)
    if not wait:
        click.echo(f"Import {job.id} queued; a worker (`flask worker`) runs it.")
        return
    job = _wait_for(job.id)
    if job.status == ImportStatus.FAILED:
        raise click.ClickException(file_problem(job.message, report_words("en"))
                                   or "The import failed.")
    report = report or _default_report(file)
    if report_path(job).exists():
        _write_report(report_path(job), report)
    counts = job.summary
    click.echo(", ".join(f"{key}: {value}" for key, value in counts.items()))
    click.echo(f"Report (rejected rows and remarks): {report}")
    if not counts.get("rows"):
        click.echo("Nothing imported: every row was rejected (reasons in the report).",
                   err=True)
        sys.exit(EXIT_NOTHING_IMPORTED)
    if counts.get("rejected"):
        click.echo(f"{counts['rejected']} rows were rejected (reasons in the report).",
                   err=True)
        sys.exit(EXIT_SOME_REJECTED)


def _write_report(stored: Path, report: Path) -> None:
    """The job's report worded for the operator, in English (the CLI's language)."""
    with report.open("wb") as out:
        for piece in csv_chunks(worded_rows(stored, report_words("en"))):
            out.write(piece)


def _queue_import(file: Path, org_id: int, headers: list[str], mapping: list[str],
                  default_region: str | None, tags: list[str], consent_source: str | None,
                  consent_purpose: str | None, workers: int | None) -> ImportJob:
    """Copy FILE to the instance folder as an import job, mapped, and queue it (with
    JOBS_IMMEDIATE, it runs here and now)."""
    with file.open("rb") as stream:
        filename, stored = store_uploads([(file.name, stream)])
    try:
        job = receive_upload(db.session, org_id, None, filename, stored, file_limit())
    except TableError as error:
        db.session.rollback()
        raise click.ClickException(file_problem(error, report_words("en"))) from error
    job.headers, job.mapping = headers, mapping
    job.default_region = default_region.upper() if default_region else None
    job.tags = [t.strip() for t in tags if t.strip()]
    if consent_source and consent_purpose:
        job.consent_source = consent_source.strip()[:120]
        job.consent_purpose = consent_purpose.strip()[:500]
    start_job(db.session, job, workers)
    return job


def _wait_for(job_id: int, poll: float = 0.5) -> ImportJob:
    """Follow an import's stored progress with a progress bar until it is done or failed.
    Says once how to start a worker when none has been seen lately and the job waits."""
    hinted = False
    started = time.monotonic()
    with click.progressbar(length=1, label="Importing", file=sys.stderr) as bar:
        shown = 0
        while True:
            db.session.rollback()  # see the worker's latest commit
            job = db.session.get(ImportJob, job_id, populate_existing=True)
            if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
                bar.length = max(job.total_rows, 1)
                bar.update(max(job.processed_rows, shown) - shown)
                return job
            seen = worker_last_seen()
            if not hinted and job.status == ImportStatus.QUEUED and \
                    time.monotonic() - started > 5 and \
                    (seen is None or time.time() - seen > WORKER_SILENT_AFTER):
                click.echo("\nWaiting for a worker: start one with `flask --app wsgi worker` "
                           "(Ctrl-C here leaves the import queued).", err=True)
                hinted = True
            if job.total_rows:
                bar.length = max(job.total_rows, 1)
                bar.update(job.processed_rows - shown)
                shown = job.processed_rows
            time.sleep(poll)


def _default_report(file: Path) -> Path:
    """A new report file in the instance folder (the input's folder may be read-only, or
    shared), deleted with the others after IMPORT_RETENTION_DAYS."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = imports_dir() / f"cli-{stamp}-{file.stem}.report.csv"
    for number in range(2, 1000):
        if not path.exists():
            break
        path = path.with_name(f"cli-{stamp}-{file.stem}-{number}.report.csv")
    return path


@contacts_cli.command("purge-imports")
def purge_imports_command() -> None:
    """Delete uploads never imported (after a day) and finished imports with their reports
    (after IMPORT_RETENTION_DAYS). Also runs at the start of every web import."""
    counts = purge_imports(db.session)
    click.echo(f"Deleted {counts['unstarted']} uploads never imported, {counts['finished']} "
               f"finished imports with their reports, {counts['files']} other old files.")


@contacts_cli.command("export")
@click.option("--org", "slug", required=True, help="The organization's slug.")
@click.option("--list", "list_name", default=None, help="Only the contacts of this saved list.")
@click.option("--profile", type=click.Choice(["ringround", "action_network", "nationbuilder",
                                              "everyaction", "zetkin"]), default="ringround",
              help="Columns: ours, or those another tool imports (docs/crm-files.md).")
@click.option("--results", type=click.Choice(["tags", "survey"]), default="tags",
              help="With a profile: call results as tags or as survey responses.")
def export_command(slug: str, list_name: str | None, profile: str, results: str) -> None:
    """Write contacts as CSV (E.164 numbers) to stdout. Audited."""
    org = organization_by_slug(slug)
    filter_ = {}
    if list_name:
        saved = list_by_name(db.session, org.id, list_name)
        if saved is None:
            raise click.ClickException(f"No list named {list_name!r}.")
        filter_ = saved.filter
    count = export_csv(db.session, org.id, sys.stdout, filter=filter_, list_name=list_name,
                       via="cli", profile=None if profile == "ringround" else profile,
                       results=results)
    click.echo(f"Exported {count} contacts.", err=True)


@contacts_cli.command("erase")
@click.option("--org", "slug", required=True, help="The organization's slug.")
@click.option("--id", "contact_id", type=int, default=None, help="The contact's id.")
@click.option("--phone", default=None, help="A number of the contact (any format).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(slug: str, contact_id: int | None, phone: str | None, yes: bool) -> None:
    """Erase one person (right to erasure). Call results stay as anonymous counts."""
    org = organization_by_slug(slug)
    if phone:
        parsed = parse_phone(phone, default_region(org))
        if isinstance(parsed, PhoneError):
            raise click.ClickException(f"Cannot read {phone!r}: {parsed.message}.")
        contact_id = db.session.scalar(select(ContactPhone.contact_id).where(
            ContactPhone.organization_id == org.id, ContactPhone.e164 == parsed.e164))
    contact = get_contact(db.session, org.id, contact_id) if contact_id else None
    if contact is None:
        raise click.ClickException("No such contact in this organization.")
    if not yes:
        click.confirm(f"Erase contact #{contact.id} ({contact.full_name or 'no name'})?",
                      abort=True)
    counts = erase_contact(db.session, contact, actor_id=None, via="cli")
    click.echo("Erased. " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
