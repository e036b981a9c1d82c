"""Fixtures for the contact base: fixture files, an organization, a quick import helper."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "contacts"


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
        with report.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return summary, rows

    return run
