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


@pytest.mark.postgres
def test_migrations_match_models_on_postgresql(postgres_server, tmp_path):
    url = postgres_server.create_database("migrations_check")
    app = _migrated_app(url, tmp_path)
    with app.app_context():
        assert _diff(url) == []
