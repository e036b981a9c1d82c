from pathlib import Path

from sqlalchemy import text

from ringround import create_app
from ringround.config import build_config, load_secret_key, normalize_database_url


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    assert len(first) == 64
    assert load_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_secret_key(tmp_path) == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_default_database_is_a_sqlite_file_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = build_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'ringround.sqlite'}"
    assert config["TELEPHONY"].provider == "simulator"


def test_postgres_urls_use_psycopg():
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x") == "sqlite:///x"


def test_twilio_is_chosen_only_with_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    assert build_config(tmp_path)["TELEPHONY"].provider == "simulator"
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    assert build_config(tmp_path)["TELEPHONY"].provider == "twilio"


def test_https_public_url_makes_cookies_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://calls.example.org/")
    config = build_config(tmp_path)
    assert config["PUBLIC_BASE_URL"] == "https://calls.example.org"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(app, db):
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_behind_proxy_trusts_forwarded_proto(tmp_path, monkeypatch):
    monkeypatch.setenv("BEHIND_PROXY", "1")
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"},
                     instance_path=str(tmp_path))

    @app.get("/scheme")
    def scheme():
        from flask import request

        return request.scheme

    response = app.test_client().get("/scheme", headers={"X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == "https"
    assert Path(app.instance_path) == tmp_path
