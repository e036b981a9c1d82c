"""Contact imports as jobs: an uploaded file becomes an `ImportJob`, checked cheaply in the
request, read (headers, first rows) by a job (`inspect_upload`), previewed (column mapping the
organizer can correct), then imported by a job (`run_import`) while the page shows progress.
The web upload and `flask contacts import` run the same job, in a `flask worker`.

The database is the truth: a running import records its checkpoint (rows, summary, report
size) with every commit of its contacts, and `updated_at` with it. A worker killed mid-import
leaves it `running` with a stale `updated_at`; the periodic sweep (`sweep_imports`) queues it
again, and it resumes after its checkpoint (rows are merged by number besides, so no contact
is ever created twice); after `MAX_ATTEMPTS` interruptions it is marked failed, to be run
again by uploading the file again. Uploads never imported and finished reports are deleted
after a while (`purge_imports`, also a periodic job)."""

from __future__ import annotations

import secrets
import shutil
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ringround import background
from ringround.background import job_app
from ringround.extensions import db
from ringround.models import ImportJob, ImportStatus, utcnow
from ringround.people.headers import CUSTOM_PREFIX, auto_map, has_phone_column
from ringround.people.importer import Checkpoint, import_contacts, prepare_mapping
from ringround.people.reader import (
    DEFAULT_MAX_BYTES,
    CellTooLong,
    TableError,
    TableSource,
    check_upload,
    open_table,
)

PREVIEW_ROWS = 5
PREVIEW_CHARS = 200  # of a cell, on the mapping page
MAX_ATTEMPTS = 3  # runs of an import interrupted (worker killed) before it is marked failed
UNSTARTED_KEPT = timedelta(days=1)
NOT_STARTED = (ImportStatus.CHECKING, ImportStatus.PREVIEW)
FINISHED = (ImportStatus.DONE, ImportStatus.FAILED)
UNFINISHED = (ImportStatus.CHECKING, ImportStatus.QUEUED, ImportStatus.RUNNING)


def imports_dir() -> Path:
    path = Path(job_app().instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


def report_path(job: ImportJob) -> Path:
    return imports_dir() / f"{job.stored_name}.report.csv"


_SUFFIXES = (".xlsx", ".vcf", ".zip")
VCARD_SUFFIXES = (".vcf", ".zip")
# The custom fields a vCard import's consent note goes to, in every contact it adds.
CONSENT_COLUMNS = {"consent_source": "Consent source", "consent_purpose": "Consent purpose"}


def new_upload_name(filename: str) -> str:
    suffix = next((s for s in _SUFFIXES if filename.lower().endswith(s)), ".csv")
    return secrets.token_hex(16) + suffix


def store_uploads(files: list[tuple[str, BinaryIO]]) -> tuple[str, str]:
    """Store uploaded files as one upload: (its display name, stored name). Several files
    must all be vCards (.vcf); they are stored one after the other, as one .vcf file."""
    if len(files) == 1:
        filename, stream = files[0]
        stored = new_upload_name(filename)
        with (imports_dir() / stored).open("wb") as target:
            shutil.copyfileobj(stream, target)
        return filename, stored
    if not all(name.lower().endswith(".vcf") for name, _stream in files):
        raise TableError("several_files")
    stored = secrets.token_hex(16) + ".vcf"
    with (imports_dir() / stored).open("wb") as target:
        for _name, stream in files:
            shutil.copyfileobj(stream, target)
            target.write(b"\r\n")
    return f"{files[0][0]} (+{len(files) - 1})", stored


def is_vcard(job: ImportJob) -> bool:
    """Whether a job's upload is vCards (a .vcf file, or a zip of them)."""
    return job.stored_name.endswith(VCARD_SUFFIXES)


def file_limit() -> int:
    """The largest file an import job reads: its size was checked when it came in (a web
    upload against MAX_CONTENT_LENGTH, a file of `flask contacts import` against this)."""
    return max(job_app().config["MAX_CONTENT_LENGTH"], DEFAULT_MAX_BYTES)


def _open(path: Path) -> TableSource:
    config = job_app().config
    return open_table(path, max_bytes=file_limit(),
                      max_columns=config["IMPORT_MAX_COLUMNS"],
                      max_cell=config["IMPORT_MAX_CELL_CHARS"])


def receive_upload(session: Session, org_id: int, user_id: int | None, filename: str,
                   stored_name: str, max_bytes: int | None = None) -> ImportJob:
    """Make the job of a stored upload (status `checking`) after the cheap checks only (size,
    up to `max_bytes`, by default MAX_CONTENT_LENGTH; first bytes; a workbook's zip
    directory): reading it is `inspect_job`'s, in the background. Raises TableError, and
    deletes the file, when it is refused."""
    path = imports_dir() / stored_name
    try:
        kind = check_upload(path, max_bytes=max_bytes or job_app().config["MAX_CONTENT_LENGTH"])
    except TableError:
        path.unlink(missing_ok=True)
        raise
    if kind == "vcard" and not stored_name.endswith(VCARD_SUFFIXES):  # whatever its name
        stored_name = Path(stored_name).stem + ".vcf"
        path = path.rename(imports_dir() / stored_name)
    job = ImportJob(organization_id=org_id, created_by_id=user_id, filename=filename[:255],
                    stored_name=stored_name, status=ImportStatus.CHECKING)
    session.add(job)
    session.flush()
    return job


def inspect_job(session: Session, job_id: int) -> None:
    """Read an upload's headers and first rows (background): the job goes to `preview` with
    a guessed mapping, or `failed` with the reason (and the file is deleted)."""
    job = session.get(ImportJob, job_id)
    if job is None or job.status != ImportStatus.CHECKING:
        return
    path = upload_path(job)
    try:
        table = _open(path)
        mapping = auto_map(table.headers)
        samples = _first_rows(table, 20)
        if not has_phone_column(mapping):
            column = _phone_like_column(table.headers, samples)
            if column is None:
                raise TableError("no_phone_column")
            mapping[column] = "phone"  # unnamed, but its values are numbers: offer it
    except TableError as error:
        path.unlink(missing_ok=True)
        job.status, job.message, job.finished_at = ImportStatus.FAILED, error.stored(), utcnow()
    except Exception as error:  # noqa: BLE001 - recorded for the organizer, then logged
        path.unlink(missing_ok=True)
        job.status, job.finished_at = ImportStatus.FAILED, utcnow()
        job.message = TableError("unreadable").stored()
        job_app().logger.exception("checking import %s failed: %s", job_id, error)
    else:
        width = len(table.headers)
        job.headers, job.mapping, job.total_rows = table.headers, mapping, table.estimated_rows
        job.preview = [[cell[:PREVIEW_CHARS] for cell in (row + [""] * width)[:width]]
                       for row in samples[:PREVIEW_ROWS]]
        job.status = ImportStatus.PREVIEW
    session.commit()


def _first_rows(table: TableSource, count: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for _row_no, cells in table.rows():
        if cells.__class__ is not CellTooLong:
            rows.append(cells)
        if len(rows) >= count:
            break
    return rows


def _phone_like_column(headers: list[str], samples: list[list[str]]) -> int | None:
    """The first column whose first values mostly look like phone numbers."""
    for index in range(len(headers)):
        values = [row[index] for row in samples if index < len(row) and row[index].strip()]
        phone_like = [v for v in values if sum(c.isdigit() for c in v) >= 7
                      and sum(c.isalpha() for c in v) <= 3]
        if values and len(phone_like) * 2 > len(values):
            return index
    return None


def stale_after() -> timedelta:
    """How long a running import may go without a commit before it counts as interrupted."""
    return timedelta(seconds=job_app().config["IMPORT_STALE_SECONDS"])


class SupersededError(RuntimeError):
    """This run of an import was found interrupted and another run took it over."""


def _claim(session: Session, job_id: int) -> ImportJob | None:
    """Take a queued import (or a running one whose run went stale) for this run: it becomes
    `running`, one more attempt. None if it is not there to take (already done, or another
    run has it): a job enqueued twice runs once."""
    now = utcnow()
    taken = session.execute(update(ImportJob).where(
        ImportJob.id == job_id,
        or_(ImportJob.status == ImportStatus.QUEUED,
            and_(ImportJob.status == ImportStatus.RUNNING,
                 func.coalesce(ImportJob.updated_at, ImportJob.created_at) < now - stale_after())),
    ).values(status=ImportStatus.RUNNING, updated_at=now, attempts=ImportJob.attempts + 1,
             preview=[]).execution_options(synchronize_session=False))
    session.commit()
    if taken.rowcount != 1:
        return None
    return session.get(ImportJob, job_id, populate_existing=True)


def run_job(session: Session, job_id: int, workers: int | None = None) -> None:
    """Run one queued import to the end (or on from its checkpoint), recording progress
    and the outcome."""
    purge_imports(session)
    job = _claim(session, job_id)
    if job is None:
        return
    if job.attempts > MAX_ATTEMPTS:
        _give_up(session, job)
        return
    attempt = job.attempts

    def on_commit(writer: Session, checkpoint: Checkpoint, total: int) -> None:
        # In the import's transaction: the checkpoint is exactly what is committed.
        moved = writer.execute(update(ImportJob).where(
            ImportJob.id == job_id, ImportJob.attempts == attempt).values(
            processed_rows=checkpoint.rows, total_rows=total, updated_at=utcnow(),
            checkpoint=checkpoint.as_dict()).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            raise SupersededError(f"import {job_id}: another run took over")

    try:
        table = _open(upload_path(job))
        mapping = prepare_mapping(table, job.mapping)
        source = f"import:{job.filename}"
        if is_vcard(job):
            table, mapping, source = with_consent(table, mapping, job.consent_source,
                                                  job.consent_purpose)
        summary, _ = import_contacts(
            session, job.organization_id, upload_path(job), mapping=mapping,
            default_region=job.default_region, tags=job.tags, workers=workers,
            source=source, report_path=report_path(job), table=table, on_commit=on_commit,
            resume=Checkpoint(**job.checkpoint) if job.checkpoint else None,
            commit_seconds=job_app().config["IMPORT_COMMIT_SECONDS"])
    except SupersededError:
        session.rollback()
        return
    except TableError as error:
        session.rollback()
        job.status, job.message = ImportStatus.FAILED, error.stored()
    except Exception as error:  # noqa: BLE001 - recorded for the organizer, then logged
        session.rollback()
        job.status, job.message = ImportStatus.FAILED, TableError("stopped").stored()
        job_app().logger.exception("import %s failed: %s", job_id, error)
    else:
        session.refresh(job)
        job.status, job.summary = ImportStatus.DONE, summary.as_dict()
        job.processed_rows = job.total_rows = summary.rows + summary.rejected
    job.finished_at = job.updated_at = utcnow()
    session.commit()
    upload_path(job).unlink(missing_ok=True)  # the data is in the database now


def _give_up(session: Session, job: ImportJob) -> None:
    """An import interrupted too often is marked failed; what it imported stays."""
    job.status, job.finished_at = ImportStatus.FAILED, utcnow()
    job.message = TableError("interrupted", times=job.attempts - 1,
                             rows=job.processed_rows).stored()
    session.commit()
    upload_path(job).unlink(missing_ok=True)


def with_consent(table: TableSource, mapping: list[str], consent_source: str | None,
                 consent_purpose: str | None) -> tuple[TableSource, list[str], str]:
    """A vCard import's table, mapping and contact source, its consent note (where the
    people come from, what they will be called about) in every row; both are required."""
    if not (consent_source and consent_purpose):
        raise TableError("no_consent_note")
    table = table.with_constants({CONSENT_COLUMNS["consent_source"]: consent_source,
                                  CONSENT_COLUMNS["consent_purpose"]: consent_purpose})
    mapping = mapping + [CUSTOM_PREFIX + key for key in CONSENT_COLUMNS]
    return table, mapping, f"vcard:{consent_source}"[:120]


@background.job(name="imports.inspect")
def inspect_upload(job_id: int) -> None:
    """The job reading an upload's headers and first rows (`inspect_job`)."""
    inspect_job(db.session, job_id)


@background.job(name="imports.run")
def run_import(job_id: int, workers: int | None = None) -> None:
    """The job importing a file (`run_job`); `workers` parsing processes (default: auto)."""
    run_job(db.session, job_id, workers)


def start_inspection(job: ImportJob) -> None:
    """Queue the reading of an upload's headers and first rows."""
    inspect_upload(job.id)


def start_job(session: Session, job: ImportJob, workers: int | None = None) -> None:
    """Queue an import (committed first, so the worker finds it)."""
    job.status, job.updated_at = ImportStatus.QUEUED, utcnow()
    job_id = job.id  # (read after the commit, it would be a query: a read transaction)
    session.commit()
    run_import(job_id, workers)


def resume_interrupted(session: Session) -> list[int]:
    """Queue again the imports whose run stopped (no commit for `stale_after()`): a worker
    was killed, or the queue lost them. Returns their ids."""
    before = utcnow() - stale_after()
    found = session.scalars(select(ImportJob).where(
        ImportJob.status.in_(UNFINISHED),
        func.coalesce(ImportJob.updated_at, ImportJob.created_at) < before)).all()
    for item in found:
        if item.status == ImportStatus.RUNNING:
            item.status = ImportStatus.QUEUED  # its run is dead: the next one resumes it
        item.updated_at = utcnow()
    session.commit()
    for item in found:
        if item.status == ImportStatus.CHECKING:
            inspect_upload(item.id)
        else:
            run_import(item.id)
    return [item.id for item in found]


@background.periodic_job(background.crontab(minute="*"), name="imports.sweep")
def sweep_imports() -> None:
    """Every minute: resume interrupted imports."""
    ids = resume_interrupted(db.session)
    if ids:
        job_app().logger.warning("imports interrupted, queued again: %s", ids)


@background.periodic_job(background.crontab(minute="17", hour="3"), name="imports.purge")
def purge_old_imports() -> None:
    """Every night: delete old uploads and reports (`purge_imports`)."""
    purge_imports(db.session)


def delete_job(session: Session, job: ImportJob) -> None:
    """Remove a job with its uploaded file and report (they may hold personal data)."""
    upload_path(job).unlink(missing_ok=True)
    report_path(job).unlink(missing_ok=True)
    session.delete(job)
    session.commit()


def _delete_files(job: ImportJob) -> None:
    upload_path(job).unlink(missing_ok=True)
    report_path(job).unlink(missing_ok=True)


def purge_imports(session: Session) -> dict[str, int]:
    """Delete what imports leave behind, in every organization: uploads never imported after
    a day (`UNSTARTED_KEPT`), finished imports with their reports after
    `IMPORT_RETENTION_DAYS`, and other files of the imports folder (command-line reports)
    as old. Runs at the start of every import, every night (`purge_old_imports`) and from
    `flask contacts purge-imports`."""
    now = utcnow()
    finished_before = now - timedelta(days=job_app().config["IMPORT_RETENTION_DAYS"])
    unstarted = session.scalars(select(ImportJob).where(
        ImportJob.status.in_(NOT_STARTED), ImportJob.created_at < now - UNSTARTED_KEPT)).all()
    finished = session.scalars(select(ImportJob).where(
        ImportJob.status.in_(FINISHED), ImportJob.finished_at < finished_before)).all()
    for job in (*unstarted, *finished):
        _delete_files(job)
        session.delete(job)
    session.commit()
    kept = {name for stored in session.scalars(select(ImportJob.stored_name))
            for name in (stored, f"{stored}.report.csv")}
    files = 0
    for path in imports_dir().iterdir():
        if path.is_file() and path.name not in kept and \
                path.stat().st_mtime < finished_before.timestamp():
            path.unlink(missing_ok=True)
            files += 1
    return {"unstarted": len(unstarted), "finished": len(finished), "files": files}


def erase_import_copies(session: Session, org_id: int) -> int:
    """Erasure reaches the import files of an organization: reports (their reasons may quote
    a cell, such as a malformed email) and uploads not yet imported are deleted; finished
    jobs keep their counts. An import already running is left to finish. Returns the number
    of files deleted; the caller commits."""
    deleted = 0
    for job in session.scalars(select(ImportJob).where(ImportJob.organization_id == org_id)):
        if job.status in FINISHED and report_path(job).exists():
            report_path(job).unlink(missing_ok=True)
            deleted += 1
        elif job.status in NOT_STARTED:
            deleted += upload_path(job).exists()
            _delete_files(job)
            session.delete(job)
    return deleted
