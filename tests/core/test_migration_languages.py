"""Migration a4f1c9e2d7b3: organizations get a language; a user's 'en' (the only language
until now, so never a choice) becomes "follow the organization"; nothing cascades."""

from flask_migrate import downgrade, upgrade

from ringround import create_app
from ringround.extensions import db

NOW = "'2026-01-01'"


def test_english_becomes_unset_other_choices_stay_and_memberships_survive(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="c3f8a2d6e914")
        with db.engine.begin() as connection:
            run = connection.exec_driver_sql
            run("INSERT INTO organizations (id, slug, name, default_region, time_zone, "
                f"call_gap_minutes, created_at, updated_at) VALUES (1, 'o', 'O', 'FR', 'UTC', "
                f"0, {NOW}, {NOW})")
            for n, language in ((1, "en"), (2, "fr")):
                run("INSERT INTO users (id, email, display_name, language, active, "
                    f"session_version, created_at, updated_at) VALUES ({n}, 'u{n}@x.org', "
                    f"'U{n}', '{language}', 1, 1, {NOW}, {NOW})")
                run("INSERT INTO memberships (organization_id, user_id, role, created_at, "
                    f"updated_at) VALUES (1, {n}, 'admin', {NOW}, {NOW})")
        upgrade()
        with db.engine.connect() as connection:
            run = connection.exec_driver_sql
            assert run("SELECT id, language FROM users ORDER BY id").all() == [(1, None),
                                                                             (2, "fr")]
            assert run("SELECT language FROM organizations").scalar() == "en"
            assert run("SELECT count(*) FROM memberships").scalar() == 2  # nothing cascaded
        downgrade(revision="c3f8a2d6e914")
        with db.engine.connect() as connection:
            run = connection.exec_driver_sql
            assert run("SELECT id, language FROM users ORDER BY id").all() == [(1, "en"),
                                                                             (2, "fr")]
            assert run("SELECT count(*) FROM memberships").scalar() == 2
        db.engine.dispose()
