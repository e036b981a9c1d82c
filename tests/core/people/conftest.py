"""Fixtures for the contact base: fixture files, an organization, a quick import helper."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "contacts"


def said(problem) -> str:
    """Why a file was refused (a `TableError`, or an import job's message), in English."""
    from ringround.people.import_words import file_problem, report_words

    return file_problem(problem, report_words("en"))


@contextmanager
def refused(pattern: str):
    """Expect a `TableError` whose words match `pattern` (as `pytest.raises(match=)`)."""
    from ringround.people.reader import TableError

    with pytest.raises(TableError) as caught:
        yield caught
    assert re.search(pattern, said(caught.value)), said(caught.value)


def report_lines(path: Path, locale: str = "en") -> list[dict[str, str]]:
    """A report file as its reader gets it (worded in `locale`), as dicts by English column:
    row, status, reason. Needs an app."""
    from ringround.people.import_words import report_words, worded_rows

    rows = worded_rows(path, report_words(locale))
    next(rows)  # the header, in `locale`
    return [dict(zip(("row", "status", "reason"), line, strict=True)) for line in rows]


@pytest.fixture
def fixture_path():
    return lambda name: FIXTURES / name


@pytest.fixture
def org(any_app, factories):
    organization, _admin = factories.org_with_admin()
    return organization


@pytest.fixture
def run_import(any_app, tmp_path):
    """Import a fixture file into `org`; returns (summary, report rows as dicts)."""
    from ringround.extensions import db
    from ringround.people.importer import import_contacts

    def run(org, name, **options):
        report = tmp_path / f"{name}.report.csv"
        summary, _ = import_contacts(db.session, org.id, FIXTURES / name, report_path=report,
                                     **options)
        return summary, report_lines(report)

    return run
