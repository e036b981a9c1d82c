"""Importing a contact file: read (streamed), clean (in worker processes), merge and write in
chunks with Core bulk statements (no ORM object per row).

Every row ends up created, merged into an earlier contact, or rejected with its row number and
reason in the report CSV; rows that import with a remark (a bad email dropped, a field that
differed from the existing contact) are listed in the report too.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import (
    CustomField,
    CustomFieldType,
    Organization,
)
from ringround.organizations import default_region as organization_region
from ringround.people.headers import (
    CUSTOM_PREFIX,
    auto_map,
    custom_key,
    has_phone_column,
    is_valid_target,
)
from ringround.people.import_merge import MergeState
from ringround.people.import_report import ImportReport, ImportSummary
from ringround.people.import_sqlite import ImportWriter, writing_session
from ringround.people.import_workers import POOL_THRESHOLD, cleaned_chunks, default_workers
from ringround.people.merge import household_secret
from ringround.people.normalize import NormalizeConfig
from ringround.people.reader import DEFAULT_MAX_BYTES, TableError, TableSource, open_table
from ringround.queue.exclusions import contacts_changed

CHUNK_ROWS = 2000
BIG_CHUNK_ROWS = 5000
# A commit writes every page the transaction dirtied, and rows with random keys (numbers,
# emails, household hashes) dirty pages all over the unique indexes: committing every few
# seconds instead of every chunk halves the import's SQLite time. Other writers wait at
# most this long (plus a chunk) for the lock; readers never wait (WAL).
COMMIT_SECONDS = 3.0
Progress = Callable[[int, int], None]


def prepare_mapping(table: TableSource, mapping: list[str] | None) -> list[str]:
    """The column mapping to use, checked; raises TableError when there is no phone column."""
    mapping = list(mapping) if mapping else auto_map(table.headers)
    mapping = (mapping + ["ignore"] * len(table.headers))[: len(table.headers)]
    mapping = [m if is_valid_target(m) else "ignore" for m in mapping]
    if not has_phone_column(mapping):
        raise TableError("no_phone_column_mapped")
    return mapping


def _ensure_custom_fields(session: Session, org_id: int, mapping: list[str],
                          headers: list[str]) -> dict[str, str]:
    keys = {target[len(CUSTOM_PREFIX):]: header for target, header in zip(
        mapping, headers, strict=True) if target.startswith(CUSTOM_PREFIX)}
    keys = {custom_key(k): h for k, h in keys.items()}
    existing = {f.key: f for f in session.scalars(select(CustomField).where(
        CustomField.organization_id == org_id))}
    for key, header in keys.items():
        if key not in existing:
            session.add(CustomField(organization_id=org_id, key=key, label=header[:120] or key))
    session.flush()
    return {key: str(f.type) for key, f in existing.items()
            if key in keys and f.type != CustomFieldType.TEXT}


@dataclass
class Checkpoint:
    """How far an import got, as of one of its commits: rows read (whole chunks of
    `chunk_rows`), its summary, and its report's size. Stored in the same transaction as
    the contacts (`on_commit`), it lets an interrupted import resume where it stopped."""

    rows: int = 0
    chunk_rows: int = CHUNK_ROWS
    report_bytes: int = 0
    summary: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


OnCommit = Callable[[Session, Checkpoint, int], None]


def import_contacts(
    session: Session, org_id: int, path: str | Path, *, mapping: list[str] | None = None,
    default_region: str | None = None, tags: list[str] | tuple[str, ...] = (),
    source: str | None = None, report_path: str | Path | None = None,
    workers: int | None = None, progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES, chunk_rows: int = CHUNK_ROWS,
    table: TableSource | None = None, on_commit: OnCommit | None = None,
    resume: Checkpoint | None = None, commit_seconds: float | None = None,
) -> tuple[ImportSummary, ImportReport]:
    """Import a CSV or XLSX file into an organization, committing every few seconds.

    Raises `TableError` (before writing anything) when the file is not a usable table.
    `session` is committed first; the import writes through its own connection.
    `progress(done_rows, estimated_rows)` is called after every commit (so it may commit
    `session` itself without waiting for the import's write lock).
    `on_commit(writer_session, checkpoint, estimated_rows)` runs just before each commit,
    in the import's transaction (to record the checkpoint with the rows it covers);
    `resume` (such a checkpoint) skips the rows it covers and carries on its summary and
    report. Rows are merged by number, so even an import run twice creates no contact twice.
    """
    table = table or open_table(path, max_bytes=max_bytes)
    mapping = prepare_mapping(table, mapping)
    org = session.get(Organization, org_id)
    if org is None:
        raise TableError("no_organization")
    region = (default_region or organization_region(org)).upper()
    config = NormalizeConfig(tuple(mapping), region, household_secret())
    session.commit()
    summary = ImportSummary(**(resume.summary or {})) if resume else ImportSummary()
    report = ImportReport(Path(report_path) if report_path else None, table.headers,
                          resume_at=resume.report_bytes if resume else None)
    clean_tags = [t.strip()[:64] for t in tags if t and t.strip()]
    workers = workers if workers is not None else default_workers(table.estimated_rows)
    if resume:
        chunk_rows = resume.chunk_rows  # the same chunks as the interrupted run
    elif chunk_rows == CHUNK_ROWS and table.estimated_rows >= POOL_THRESHOLD:
        chunk_rows = BIG_CHUNK_ROWS  # fewer round trips on big files
    skip = resume.rows if resume else 0
    every = COMMIT_SECONDS if commit_seconds is None else commit_seconds
    done = 0

    def commit(writer: ImportWriter) -> None:
        if on_commit:
            on_commit(writer.session, Checkpoint(done, chunk_rows, report.written(),
                                                  summary.as_dict()),
                      max(table.estimated_rows, done))
        writer.commit()
    # The indexes hold up to millions of objects: a full garbage collection after every few
    # thousand allocations would walk them all again and again. Chunks free themselves by
    # reference counting; a young-generation pass every few chunks catches the rest.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with writing_session(session) as writer:
            custom_types = _ensure_custom_fields(writer.session, org_id, mapping,
                                                 table.headers)
            state = MergeState(writer.session, org_id, source or f"import:{Path(path).name}",
                                clean_tags, report, summary, custom_types)
            began = time.monotonic()
            for number, (raw, cleaned) in enumerate(
                    cleaned_chunks(table, config, workers, chunk_rows)):
                if number % 16 == 15:
                    gc.collect(1)
                if done < skip:  # written before the interruption
                    done += len(raw)
                    continue
                state.apply(raw, cleaned)
                done += len(raw)
                if time.monotonic() - began >= every:
                    commit(writer)
                    began = time.monotonic()
                    if progress:
                        progress(done, max(table.estimated_rows, done))
            # Changed fields and tags may put people under (or out of) an exclusion.
            contacts_changed(writer.session, org_id)
            state.close()
            commit(writer)
        if progress:
            progress(done, max(table.estimated_rows, done))
    finally:
        report.close()
        if gc_was_enabled:
            gc.enable()
    return summary, report
