import pytest

from tests.conftest import post_form
from tests.factories import login


def test_a_form_post_without_csrf_token_is_refused(client, factories):
    _, admin = factories.org_with_admin()
    response = client.post("/login", data={"email": admin.email, "password": "x" * 12})
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)


def test_htmx_requests_carry_csrf_in_a_header(client, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    html = client.get("/console/").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


@pytest.mark.parametrize("path", ["/login", "/healthz", "/does-not-exist"])
def test_security_headers_are_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in headers["Vary"]


def test_pages_have_no_inline_scripts_or_styles(client, factories):
    org, admin = factories.org_with_admin()
    for page in ["/login"]:
        html = client.get(page).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html
    login(client, admin)
    for page in ["/console/", "/console/members", "/console/organizations"]:
        html = client.get(page).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "onclick" not in html


def test_session_cookie_is_http_only_and_same_site(client):
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


@pytest.fixture
def app_overrides():
    return {"LOGIN_RATE_LIMIT": "3 per minute"}


def test_login_rate_limit_trips_with_a_friendly_page(client, factories):
    _, admin = factories.org_with_admin()
    for _ in range(3):
        response = post_form(client, "/login", {"email": admin.email, "password": "wrong" * 3})
        assert response.status_code == 200
    response = post_form(client, "/login", {"email": admin.email, "password": "wrong" * 3})
    assert response.status_code == 429
    assert "Too many tries" in response.get_data(as_text=True)


def test_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_friendly_500(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)


def test_errors_answer_json_to_api_clients(client):
    response = client.get("/nothing", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["error"] == "Page not found"
