"""Creating organizations is for instance administrators (unless the instance opens it)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ringround.config import build_config
from ringround.models import Organization, User
from tests.conftest import post_form
from tests.factories import login
from tests.web.test_auth import SETUP


def _organizations(db) -> int:
    return db.session.scalar(select(func.count(Organization.id)))


def test_an_organization_admin_who_is_not_an_instance_admin_cannot_create_one(
        client, db, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    page = client.get("/console/organizations").get_data(as_text=True)
    assert "New organization" not in page and 'action="/console/organizations"' not in page
    response = post_form(client, "/console/organizations", {"name": "Mine now"},
                         page="/console/organizations")
    assert response.status_code == 403
    assert _organizations(db) == 1


def test_an_agent_signed_in_by_phone_cannot_create_one(client, db, factories):
    from tests.sharing.conftest import form_post

    factories.org_with_admin()
    volunteer = factories.phone_user()
    with client.session_transaction() as session:  # signed in as a phone-only volunteer
        session["_user_id"] = volunteer.get_id()
        session["_fresh"] = True
    response = form_post(client, "/console/organizations", {"name": "Mine now"})
    assert response.status_code == 403
    assert _organizations(db) == 1


def test_the_first_run_user_is_an_instance_admin_and_creates_organizations(client, db):
    post_form(client, "/setup", SETUP)
    assert db.session.scalar(select(User.is_instance_admin)) is True
    page = client.get("/console/organizations").get_data(as_text=True)
    assert "New organization" in page
    response = post_form(client, "/console/organizations", {"name": "Second branch"},
                         page="/console/organizations", follow_redirects=True)
    assert "<h1>Second branch</h1>" in response.get_data(as_text=True)
    assert _organizations(db) == 2


def test_cli_create_admin_makes_an_instance_admin(runner, db):
    result = runner.invoke(args=["users", "create-admin", "--email", "boss@example.org",
                                 "--password", "long enough pw", "--org", "Tenants Union"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.is_instance_admin)) is True


def test_the_setting_reads_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("ORGANIZATIONS_OPEN_TO_ALL", raising=False)
    assert build_config(tmp_path)["ORGANIZATIONS_OPEN_TO_ALL"] is False
    monkeypatch.setenv("ORGANIZATIONS_OPEN_TO_ALL", "true")
    assert build_config(tmp_path)["ORGANIZATIONS_OPEN_TO_ALL"] is True


class TestOpenedToEveryone:
    @pytest.fixture
    def app_overrides(self):
        return {"ORGANIZATIONS_OPEN_TO_ALL": True}

    def test_any_signed_in_user_may_create_one(self, client, db, factories):
        _, admin = factories.org_with_admin()
        login(client, admin)
        assert "New organization" in client.get("/console/organizations").get_data(as_text=True)
        response = post_form(client, "/console/organizations", {"name": "Second branch"},
                             page="/console/organizations")
        assert response.status_code == 302
        assert _organizations(db) == 2
