"""Background imports: an uploaded file becomes an `ImportJob`, previewed (column mapping the
organizer can correct), then imported in a thread while the page shows progress.

One thread per import in the web process is enough for an organization's occasional uploads;
the import itself uses worker processes for big files. A job that was running when the server
stopped is marked failed when someone looks at it hours later (`refresh_stale`)."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.orm import Session

from ringround.models import ImportJob, ImportStatus, utcnow
from ringround.people.headers import auto_map, has_phone_column
from ringround.people.reader import TableError, open_table

PREVIEW_ROWS = 5
STALE_AFTER = timedelta(hours=6)


def imports_dir() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


def report_path(job: ImportJob) -> Path:
    return imports_dir() / f"{job.stored_name}.report.csv"


def new_upload_name(filename: str) -> str:
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    return secrets.token_hex(16) + suffix


def create_job(session: Session, org_id: int, user_id: int | None, filename: str,
               stored_name: str) -> ImportJob:
    """Check an uploaded file and make its job (status `preview`). Raises TableError, and
    deletes the file, when it is not a usable table."""
    path = imports_dir() / stored_name
    try:
        table = open_table(path, max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    except TableError:
        path.unlink(missing_ok=True)
        raise
    mapping = auto_map(table.headers)
    if not has_phone_column(mapping):
        column = _phone_like_column(table)
        if column is None:
            path.unlink(missing_ok=True)
            raise TableError(
                "No phone column found. Name one of the columns Phone, Mobile, Téléphone, "
                "Telefon or Telefoon.")
        mapping[column] = "phone"  # unnamed, but its values are numbers: offer it
    job = ImportJob(organization_id=org_id, created_by_id=user_id, filename=filename[:255],
                    stored_name=stored_name, headers=table.headers, mapping=mapping,
                    total_rows=table.estimated_rows)
    session.add(job)
    session.flush()
    return job


def _phone_like_column(table) -> int | None:
    """The first column whose first values mostly look like phone numbers."""
    samples: list[list[str]] = []
    for _row_no, cells in table.rows():
        samples.append(cells)
        if len(samples) >= 20:
            break
    for index in range(len(table.headers)):
        values = [row[index] for row in samples if index < len(row) and row[index].strip()]
        phone_like = [v for v in values if sum(c.isdigit() for c in v) >= 7
                      and sum(c.isalpha() for c in v) <= 3]
        if values and len(phone_like) * 2 > len(values):
            return index
    return None


def preview_rows(job: ImportJob) -> list[list[str]]:
    """The first rows of the uploaded file, for the mapping preview."""
    rows = []
    for _row_no, cells in open_table(upload_path(job)).rows():
        rows.append((cells + [""] * len(job.headers))[: len(job.headers)])
        if len(rows) >= PREVIEW_ROWS:
            break
    return rows


def run_job(session: Session, job_id: int) -> None:
    """Run one queued import to the end, recording progress and the outcome."""
    from ringround.people.importer import import_contacts, prepare_mapping

    job = session.get(ImportJob, job_id)
    job.status = ImportStatus.RUNNING
    session.commit()

    def progress(done: int, total: int) -> None:
        job.processed_rows, job.total_rows = done, total
        session.commit()

    try:
        table = open_table(upload_path(job), max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
        mapping = prepare_mapping(table, job.mapping)
        summary, _ = import_contacts(
            session, job.organization_id, upload_path(job), mapping=mapping,
            default_region=job.default_region, tags=job.tags,
            source=f"import:{job.filename}", report_path=report_path(job), progress=progress,
            table=table)
    except TableError as error:
        session.rollback()
        job.status, job.message = ImportStatus.FAILED, str(error)
    except Exception as error:  # noqa: BLE001 - recorded for the organizer, then logged
        session.rollback()
        job.status, job.message = ImportStatus.FAILED, "The import stopped on an error."
        current_app.logger.exception("import %s failed: %s", job_id, error)
    else:
        job.status, job.summary = ImportStatus.DONE, summary.as_dict()
        job.processed_rows = job.total_rows = summary.rows + summary.rejected
    job.finished_at = utcnow()
    session.commit()
    upload_path(job).unlink(missing_ok=True)  # the data is in the database now


def start_job(app: Flask, session: Session, job: ImportJob) -> None:
    """Queue the job and run it in a background thread."""
    job.status = ImportStatus.QUEUED
    session.commit()
    job_id = job.id

    def target() -> None:
        from ringround.extensions import db

        with app.app_context():
            try:
                run_job(db.session, job_id)
            finally:
                db.session.remove()

    threading.Thread(target=target, name=f"import-{job_id}", daemon=True).start()


def refresh_stale(session: Session, job: ImportJob) -> None:
    """A job still marked running long after it started died with a server restart."""
    started = job.created_at
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING) and \
            utcnow() - started > STALE_AFTER:
        job.status, job.message = ImportStatus.FAILED, "The import was interrupted; try again."
        job.finished_at = utcnow()
        session.commit()


def delete_job(session: Session, job: ImportJob) -> None:
    """Remove a job with its uploaded file and report (they may hold personal data)."""
    upload_path(job).unlink(missing_ok=True)
    report_path(job).unlink(missing_ok=True)
    session.delete(job)
    session.commit()
