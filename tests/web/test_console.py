from sqlalchemy import select

from ringround.accounts import add_organizer
from ringround.models import Membership, OrgRole
from tests.conftest import post_form
from tests.factories import login


def test_an_organizer_cannot_manage_members(client, factories):
    org, admin = factories.org_with_admin()
    organizer = factories.organizer(org, admin)
    login(client, organizer)
    assert client.get("/console/").status_code == 200
    assert client.get("/console/members").status_code == 403


def test_an_admin_adds_an_organizer_who_can_sign_in(client, db, factories):
    org, admin = factories.org_with_admin()
    login(client, admin)
    response = post_form(client, "/console/members", {
        "email": "new@example.org", "display_name": "Noor", "password": "another long pw",
        "role": "organizer",
    })
    assert response.status_code == 302
    role = db.session.scalar(select(Membership.role).join(Membership.user)
                             .where(Membership.organization_id == org.id,
                                    Membership.user.has(email="new@example.org")))
    assert role is OrgRole.ORGANIZER
    fresh = client.application.test_client()
    response = post_form(fresh, "/login", {"email": "new@example.org",
                                           "password": "another long pw"})
    assert response.status_code == 302


def test_adding_an_existing_member_shows_a_message(client, factories):
    org, admin = factories.org_with_admin()
    organizer = factories.organizer(org, admin)
    login(client, admin)
    response = post_form(client, "/console/members", {"email": organizer.email,
                                                      "role": "organizer"})
    assert "already a member" in response.get_data(as_text=True)


def test_switching_organization(client, db, factories):
    first, admin = factories.org_with_admin(name="First")
    second, other = factories.org_with_admin(name="Second")
    factories.organizer(second, other)  # an unrelated member

    add_organizer(db.session, org=second, actor=other, email=admin.email, password=None)
    db.session.commit()
    login(client, admin)
    assert "<h1>First</h1>" in client.get("/console/").get_data(as_text=True)
    post_form(client, "/console/organizations/switch", {"org_id": second.id},
              page="/console/organizations")
    assert "<h1>Second</h1>" in client.get("/console/").get_data(as_text=True)


def test_cannot_switch_into_an_organization_one_is_not_in(client, factories):
    first, admin = factories.org_with_admin()
    second, _ = factories.org_with_admin()
    login(client, admin)
    response = post_form(client, "/console/organizations/switch", {"org_id": second.id},
                         page="/console/organizations")
    assert response.status_code == 403


def test_an_instance_admin_creates_another_organization(client, db, factories):
    _, admin = factories.org_with_admin(name="First")
    admin.is_instance_admin = True
    db.session.commit()
    login(client, admin)
    response = post_form(client, "/console/organizations", {"name": "Second branch"},
                         page="/console/organizations", follow_redirects=True)
    assert "<h1>Second branch</h1>" in response.get_data(as_text=True)


def test_anonymous_users_are_sent_to_login(client, factories):
    factories.org_with_admin()
    for path in ["/console/", "/console/members", "/console/organizations"]:
        assert "/login" in client.get(path).location
