from sqlalchemy import select

from ringround.models import Organization, User
from tests.conftest import post_form
from tests.factories import PASSWORD, login

SETUP = {"org_name": "Union Local 42", "display_name": "Ana", "email": "ana@example.org",
         "password": "long enough pw", "confirm": "long enough pw", "country": "US",
         "time_zone": "America/Chicago"}


def test_first_visitor_is_sent_to_setup(client):
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/setup")


def test_setup_creates_organization_signs_in_and_shows_dashboard(client, db):
    response = post_form(client, "/setup", SETUP, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Union Local 42" in html and "Your role: Admin" in html
    assert db.session.scalar(select(Organization.slug)) == "union-local-42"


def test_setup_stores_the_country_and_time_zone(client, db):
    post_form(client, "/setup", {**SETUP, "country": "FR", "time_zone": "Europe/Paris"})
    org = db.session.scalar(select(Organization))
    assert (org.default_region, org.time_zone) == ("FR", "Europe/Paris")


def test_setup_guesses_the_country_from_the_browsers_languages(client):
    html = client.get("/setup", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"}
                      ).get_data(as_text=True)
    assert '<option selected value="SE">' in html
    assert '<option data-country="SE" selected value="Europe/Stockholm">' in html
    assert 'src="/static/js/zone.js"' in html and 'data-guess="zone"' in html


def test_setup_rejects_an_unknown_zone_next_to_the_field_and_keeps_the_rest(client, db):
    response = post_form(client, "/setup", {**SETUP, "time_zone": "Mars/Olympus"})
    html = response.get_data(as_text=True)
    assert 'id="time_zone-err">Choose a time zone from the list.' in html
    assert 'value="Union Local 42"' in html and 'data-guess' not in html
    assert db.session.scalar(select(User.id)) is None


def test_setup_with_mismatched_passwords_keeps_the_form(client, db):
    response = post_form(client, "/setup", {**SETUP, "confirm": "something else"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Passwords must match." in html
    assert 'value="Union Local 42"' in html  # nothing typed is lost
    assert db.session.scalar(select(User.id)) is None


def test_setup_is_closed_once_an_organization_exists(client, factories):
    factories.org_with_admin()
    assert client.get("/setup").location.endswith("/login")
    response = client.post("/setup", data=SETUP)
    assert response.status_code in (302, 400)


def test_login_and_logout(client, factories):
    _, admin = factories.org_with_admin()
    login(client, admin)
    assert client.get("/console/").status_code == 200
    response = post_form(client, "/logout", {}, page="/console/")
    assert response.status_code == 302
    assert client.get("/console/").location.endswith("/login")


def test_wrong_password_says_so_without_telling_which_part(client, factories):
    _, admin = factories.org_with_admin()
    response = post_form(client, "/login", {"email": admin.email, "password": "nope nope nope"})
    assert "That email and password do not match an account." in response.get_data(as_text=True)
    response = post_form(client, "/login", {"email": "x@example.org", "password": "nope nope"})
    assert "That email and password do not match an account." in response.get_data(as_text=True)


def test_remember_me_sets_a_lasting_http_only_cookie(client, factories):
    _, admin = factories.org_with_admin()
    response = post_form(client, "/login",
                         {"email": admin.email, "password": PASSWORD, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]


def test_login_redirects_only_to_local_paths(client, factories):
    _, admin = factories.org_with_admin()
    data = {"email": admin.email, "password": PASSWORD}
    response = post_form(client, "/login?next=//evil.example/x", data, page="/login")
    assert response.location.endswith("/console/")


def test_bumping_session_version_signs_out_everywhere(client, db, factories):
    _, admin = factories.org_with_admin()
    login(client, admin)
    admin.session_version += 1
    db.session.commit()
    assert client.get("/console/").location.endswith("/login")


def test_a_password_user_outside_any_organization_lands_in_the_caller_app(client, db, factories):
    from ringround.accounts import create_password_user
    from ringround.models import OperationMember, OperationRole

    org, admin = factories.org_with_admin()
    op = factories.operation(org, admin)
    caller = create_password_user(db.session, email="caller@example.org", password=PASSWORD)
    db.session.add(OperationMember(operation_id=op.id, user_id=caller.id,
                                   role=OperationRole.AGENT))
    db.session.commit()
    response = post_form(client, "/login", {"email": "caller@example.org", "password": PASSWORD})
    assert response.location.endswith("/call/")
    assert client.get("/").location.endswith("/call/")
    assert client.get("/login").location.endswith("/call/")
