from ringround.models import Contact, Operation


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    from ringround import create_app

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x",
         "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"},
        instance_path=str(tmp_path),
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "degraded", "database": "error"}


def test_htmx_is_served_from_our_origin(client):
    response = client.get("/vendor/htmx.min.js")
    assert response.status_code == 200
    assert b"htmx" in response.data[:2000]
    assert client.get("/vendor/other.js").status_code == 404


def test_cli_create_admin(runner, db):
    result = runner.invoke(args=["users", "create-admin", "--email", "boss@example.org",
                                 "--password", "long enough pw", "--org", "Tenants Union"])
    assert result.exit_code == 0, result.output
    assert "slug: tenants-union" in result.output
    result = runner.invoke(args=["users", "create-admin", "--email", "boss@example.org",
                                 "--password", "long enough pw", "--org", "Again"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_cli_demo_fills_an_organization(runner, db):
    result = runner.invoke(args=["demo", "--contacts", "12"])
    assert result.exit_code == 0, result.output
    assert db.session.query(Contact).count() == 12
    assert db.session.query(Operation).count() == 1
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and db.session.query(Contact).count() == 12


def test_cli_demo_works_on_a_brand_new_instance(tmp_path):
    from ringround import create_app

    app = create_app({"SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new.sqlite'}"},
                     instance_path=str(tmp_path))
    result = app.test_cli_runner().invoke(args=["demo", "--contacts", "3"])
    assert result.exit_code == 0, result.output
    assert "Sign in as demo@example.org" in result.output
