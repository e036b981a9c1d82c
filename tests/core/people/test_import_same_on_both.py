"""The same files imported into SQLite and PostgreSQL give the same contacts, numbers, tags,
households, custom fields, counts and report, though PostgreSQL writes through COPY and
set-based statements (`people/pg_copy.py`) and SQLite through `executemany`."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone, Household, Tag, contact_tags
from ringround.people.importer import import_contacts
from tests import factories
from tests.conftest import make_app

pytestmark = pytest.mark.postgres

FIRST = ["Jean", "Marie", "J.", "Bob", "Robert", "Élodie", "ELODIE", "Jeanne", ""]
HEADER = "First name;Last name;Phone;Mobile;Email;Address;Zip;City;Tags;Shirt size;Member since\n"


def write_file(path: Path, rows: int, seed: int) -> None:
    """Rows that hit every rule: numbers and emails shared within the file and with the
    database (first names that are or are not one person), addresses shared by households,
    tags, custom fields (a date column with bad cells), differing fields, bad numbers."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for _ in range(rows):
            n = rng.randrange(rows)  # repeats: merges by number, within and across files
            phone = rng.choice([f"06 12 {n // 100:02d} {n % 100:02d} 00", f"+336120{n:05d}",
                                "n/a", ""]) if rng.random() < .97 else "12"
            mobile = f"07 00 00 {n % 97:02d} 11" if rng.random() < .1 else ""  # shared
            email = f"p{rng.randrange(rows // 3)}@example.org" if rng.random() < .5 else ""
            house = rng.randrange(rows // 2)
            address = f"{house} rue Haute" if rng.random() < .7 else ""
            tags = rng.choice(["", "member", "volunteer,member", "donor"])
            since = rng.choice(["2019-05-01", "", "not a date", "01/02/2020"])
            handle.write(f"{rng.choice(FIRST)};{rng.choice(['Martin', 'Diallo', ''])};"
                         f"{phone};{mobile};{email};{address};6900{house % 3};Lyon;{tags};"
                         f"{rng.choice(['S', 'M', ''])};{since}\n")


def canonical() -> list[tuple]:
    """Every contact with its numbers, tags and household key, without ids (the databases
    may number rows differently)."""
    keys = dict(db.session.execute(select(Household.id, Household.key)).all())
    tags = {}
    for contact_id, name in db.session.execute(
            select(contact_tags.c.contact_id, Tag.name).join(Tag)).all():
        tags.setdefault(contact_id, []).append(name)
    phones = {}
    for phone in db.session.scalars(select(ContactPhone).order_by(ContactPhone.position)):
        phones.setdefault(phone.contact_id, []).append(
            (phone.e164, phone.extension, str(phone.label), phone.is_mobile, phone.country,
             phone.position, str(phone.status)))
    return sorted((
        (c.first_name, c.last_name, c.email, c.street, c.postcode, c.city, c.country,
         c.date_of_birth, c.time_zone, c.source, sorted(c.custom.items()), c.do_not_contact,
         keys.get(c.household_id), tuple(phones.get(c.id, ())), tuple(sorted(tags.get(c.id, ())))
         ) for c in db.session.scalars(select(Contact))), key=repr)


def import_twice(url: str, instance: Path, files: list[Path]) -> list:
    """Import the files one after the other into a fresh organization; what came out."""
    app = make_app(url, instance)
    outcomes = []
    with app.app_context():
        org, _admin = factories.org_with_admin()
        for number, path in enumerate(files):
            report = instance / f"report{number}.csv"
            summary, _ = import_contacts(db.session, org.id, path, report_path=report,
                                         default_region="FR", tags=["imported"],
                                         chunk_rows=64, workers=1)
            with report.open(encoding="utf-8", newline="") as handle:
                outcomes.append((summary.as_dict(), list(csv.reader(handle))))
        outcomes.append(canonical())
        db.session.remove()
        db.engine.dispose()
    return outcomes


def test_sqlite_and_postgresql_import_the_same_files_alike(postgres_server, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_file(first, 900, seed=1)
    write_file(second, 900, seed=2)  # merges into the first file's contacts and households
    on_sqlite = import_twice(f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path / "sqlite",
                             [first, second])
    on_postgresql = import_twice(postgres_server.create_database("same_on_both"),
                                 tmp_path / "postgresql", [first, second])

    (summary1, _), (summary2, _), contacts = on_sqlite
    # The file hits the rules this test is about, on both imports.
    for summary in (summary1, summary2):
        assert summary["created"] and summary["merged"] and summary["rejected"]
        assert summary["kept_apart"] and summary["warnings"] and summary["households"]
    assert summary2["merged"] > summary1["merged"]  # the second file meets the first's people
    assert any(contact[10] for contact in contacts)  # custom fields
    assert on_postgresql == on_sqlite
