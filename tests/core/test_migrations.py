"""The Alembic migrations build exactly the schema the models describe, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect

from ringround import create_app
from ringround.extensions import db
from ringround.migration_types import render_item  # noqa: F401 - used by env.py via config


def _migrated_app(url, tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url},
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        upgrade()
    return app


def _diff(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    engine.dispose()
    return diff


def test_migrations_match_models_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    app = _migrated_app(url, tmp_path)
    with app.app_context():
        assert _diff(url) == []
        assert "alembic_version" in inspect(db.engine).get_table_names()
        # Not compared by Alembic: the table options create_all gives.
        with db.engine.connect() as connection:
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'contact_tags'").scalar()
        assert sql.rstrip().endswith("WITHOUT ROWID")


def test_contacts_import_indexes_migration_keeps_tags_and_goes_back(tmp_path):
    """contact_tags is rebuilt without rowid (rows kept), and back again on downgrade."""
    from flask_migrate import downgrade

    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="da812593b5c3")
        with db.engine.begin() as connection:
            run = connection.exec_driver_sql
            run("INSERT INTO organizations (id, slug, name, default_region, time_zone, "
                "call_gap_minutes, created_at, updated_at) "
                "VALUES (1, 'o', 'O', 'FR', 'Europe/Paris', 0, '2026-01-01', '2026-01-01')")
            run("INSERT INTO tags (id, organization_id, name) VALUES (1, 1, 'member')")
            run("INSERT INTO contacts (id, organization_id, custom, do_not_contact, "
                "created_at, updated_at) VALUES (1, 1, '{}', 0, '2026-01-01', '2026-01-01')")
            run("INSERT INTO contact_tags (contact_id, tag_id) VALUES (1, 1)")
        for step in (upgrade, lambda: downgrade(revision="da812593b5c3")):
            step()
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql(
                    "SELECT contact_id, tag_id FROM contact_tags").all() == [(1, 1)]
            indexes = {i["name"] for i in inspect(db.engine).get_indexes("contacts")}
            assert ("ix_contacts_organization_id" in indexes) == (step is not upgrade)
        db.engine.dispose()


@pytest.mark.postgres
def test_migrations_match_models_on_postgresql(postgres_server, tmp_path):
    url = postgres_server.create_database("migrations_check")
    app = _migrated_app(url, tmp_path)
    with app.app_context():
        assert _diff(url) == []
