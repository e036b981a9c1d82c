"""Migration 7d3e9a1c5b20: the first user becomes an instance admin; campaign numbers unique."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from ringround import create_app
from ringround.extensions import db

NOW = "'2026-01-01'"


def test_first_user_becomes_instance_admin_and_a_shared_number_stays_with_its_first_owner(
        tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="4c1f7e2a9b3d")
        with db.engine.begin() as connection:
            run = connection.exec_driver_sql
            for n in (1, 2):
                run("INSERT INTO users (id, email, display_name, language, active, "
                    f"session_version, created_at, updated_at) VALUES ({n}, 'u{n}@x.org', "
                    f"'U{n}', 'en', 1, 1, {NOW}, {NOW})")
                run("INSERT INTO organizations (id, slug, name, default_region, time_zone, "
                    f"call_gap_minutes, campaign_number, created_at, updated_at) VALUES ({n}, "
                    f"'o{n}', 'O{n}', 'FR', 'UTC', 0, '+33700000001', {NOW}, {NOW})")
                run("INSERT INTO memberships (organization_id, user_id, role, created_at, "
                    f"updated_at) VALUES ({n}, {n}, 'admin', {NOW}, {NOW})")
        upgrade()
        with db.engine.connect() as connection:
            run = connection.exec_driver_sql
            assert run("SELECT id, is_instance_admin FROM users ORDER BY id").all() == [
                (1, 1), (2, 0)]
            assert run("SELECT id, campaign_number FROM organizations ORDER BY id").all() == [
                (1, "+33700000001"), (2, None)]
            assert run("SELECT count(*) FROM memberships").scalar() == 2  # nothing cascaded
            with pytest.raises(IntegrityError):
                run("UPDATE organizations SET campaign_number = '+33700000001' WHERE id = 2")
        downgrade(revision="4c1f7e2a9b3d")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM memberships").scalar() == 2
        db.engine.dispose()
