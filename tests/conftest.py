"""Shared fixtures: an app on a real SQLite file, a client, the database, factories.

PostgreSQL fixtures start a throwaway server (Debian binaries) once per test process.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from ringround import create_app
from ringround.extensions import db as _db
from ringround.throwaway_postgres import ThrowawayPostgres
from ringround.throwaway_redis import ThrowawayRedis

# The ports a test's redis-server may take (the jobs engineer's range; first free one).
REDIS_PORTS = range(5650, 5670)

TEST_SECRET = "test-secret-key-not-for-production"

# One shared set of browser fixtures for every folder (one Playwright per test process).
pytest_plugins = ["tests.browser_fixtures"]


class FreshContextClient(FlaskClient):
    """Runs each request in its own app context, as in production (fresh `g`, own session).

    The test's own session commits before a request (so the request sees the test's data)
    and rolls back after it (so the test then reads what the request wrote).
    """

    def open(self, *args, **kwargs):
        _db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.rollback()
        return response


def make_app(database_url: str, instance_path, **overrides):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            # Jobs run where they are enqueued; tests of the worker itself override both.
            "JOB_QUEUE_URL": "memory://",
            "JOBS_IMMEDIATE": True,
            **overrides,
        },
        instance_path=str(instance_path),
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        _db.create_all()
    return app


@pytest.fixture
def app_overrides() -> dict:
    """Settings a test module may override (define its own `app_overrides` fixture)."""
    return {}


@pytest.fixture
def app(tmp_path, app_overrides):
    app = make_app(f"sqlite:///{tmp_path / 'test.sqlite'}", tmp_path / "instance", **app_overrides)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def postgres_server():
    server = ThrowawayPostgres().start()
    yield server
    server.stop()


_pg_counter = iter(range(1_000_000))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server (Debian binary), nothing saved to disk, for this test process."""
    server = ThrowawayRedis(REDIS_PORTS, tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The throwaway Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def pg_app(postgres_server, tmp_path, app_overrides):
    """The app on a fresh database of the throwaway PostgreSQL server."""
    url = postgres_server.create_database(f"t{next(_pg_counter)}")
    app = make_app(url, tmp_path / "instance", **app_overrides)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_app(request, tmp_path, app_overrides):
    """The app on SQLite and, as a second run, on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t{next(_pg_counter)}")
    app = make_app(url, tmp_path / "instance", **app_overrides)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token_from(html: str) -> str:
    """The CSRF token embedded in a rendered page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict, page: str | None = None, **kwargs):
    """GET `page` (default `url`) for a CSRF token, then POST `data` with it, like a browser."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token_from(html)}, **kwargs)


@pytest.fixture
def factories(app):
    from tests import factories

    return factories
