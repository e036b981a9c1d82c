"""Fixtures for the contact base: fixture files, an organization, a quick import helper."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "contacts"


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
