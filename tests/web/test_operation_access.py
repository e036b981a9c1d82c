"""Who may open the organizer's operation pages: organizers and owners yes, agents never."""

import pytest

from ringround.models import OperationMember, OperationRole
from tests.conftest import csrf_token_from, post_form
from tests.factories import login

PAGES = ["", "/figures", "/results.csv", "/steps/mode", "/steps/review", "/steps/people"]
POSTS = ["/pause", "/duplicate", "/activate", "/questionnaire/template", "/members"]


@pytest.fixture
def world(db, factories):
    org, admin = factories.org_with_admin()
    organizer = factories.organizer(org, admin)
    agent, owner = factories.phone_user("Agent"), factories.phone_user("Owner")
    owner.email, owner.password_hash = "owner@example.org", admin.password_hash
    op = factories.operation(org, owner=admin, name="Secret op")
    op.members += [OperationMember(user_id=agent.id, role=OperationRole.AGENT),
                   OperationMember(user_id=owner.id, role=OperationRole.OWNER)]
    other_org, other_admin = factories.org_with_admin()
    db.session.commit()
    return {"org": org, "admin": admin, "organizer": organizer, "agent": agent,
            "owner": owner, "op": op, "other_admin": other_admin}


def sign_in_as_phone_user(client, user):
    """Volunteers sign in by phone (join links); the session is what matters here."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@pytest.mark.parametrize("who", ["admin", "organizer", "owner"])
def test_organizers_and_owners_open_every_page(client, world, who):
    login(client, world[who])
    base = f"/console/operations/{world['op'].id}"
    for page in PAGES:
        assert client.get(base + page).status_code == 200, page
    assert "Secret op" in client.get("/console/operations/").get_data(as_text=True)


def test_an_agent_never_sees_organizer_pages(client, world):
    sign_in_as_phone_user(client, world["agent"])
    base = f"/console/operations/{world['op'].id}"
    for page in PAGES:
        assert client.get(base + page).status_code == 403, page
    assert client.get("/console/operations/").status_code == 403
    token = csrf_token_from(client.get(base).get_data(as_text=True))  # the 403 page has one
    for path in POSTS:
        assert client.post(base + path, data={"csrf_token": token}).status_code == 403, path


def test_an_admin_of_another_organization_gets_not_found(client, world):
    login(client, world["other_admin"])
    base = f"/console/operations/{world['op'].id}"
    for page in PAGES:
        assert client.get(base + page).status_code == 404, page
    assert "Secret op" not in client.get("/console/operations/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(f"/console/operations/{world['op'].id}")
    assert response.status_code == 302 and "/login" in response.location


def test_an_owner_outside_the_organization_sees_only_their_operation(client, world, db,
                                                                       factories):
    other = factories.operation(world["org"], owner=world["admin"], name="Not theirs")
    login(client, world["owner"])
    listing = client.get("/console/operations/").get_data(as_text=True)
    assert "Secret op" in listing and "Not theirs" not in listing
    assert "New operation" not in listing
    assert client.get(f"/console/operations/{other.id}").status_code == 404
    response = post_form(client, "/console/operations/new", {},
                         page="/console/operations/")
    assert response.status_code == 403
