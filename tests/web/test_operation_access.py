"""Who may open the organizer's operation pages: organizers and owners yes, agents never."""

import re

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


def _step(world, step: str) -> str:
    return f"/console/operations/{world['op'].id}/steps/{step}"


def test_an_owner_sees_source_and_fields_read_only_and_cannot_change_them(client, world, db):
    """Who is called and what callers see are organizer decisions: an owner (a role anyone
    gets through an owner link) must not widen them."""
    login(client, world["owner"])
    for step in ("source", "fields"):
        page = client.get(_step(world, step))
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert '<fieldset class="read-only" disabled>' in html
        assert "shown read-only" in html and "Save and continue" not in html
    source = post_form(client, _step(world, "source"),
                       {"kind": "filter", "city": "Anywhere"}, page=_step(world, "mode"))
    fields = post_form(client, _step(world, "fields"),
                       {"vis_email": "visible", "order_email": "1"}, page=_step(world, "mode"))
    assert source.status_code == 403 and fields.status_code == 403
    count = client.get(f"/console/operations/{world['op'].id}/source/count?kind=filter")
    assert count.status_code == 403
    db.session.expire_all()
    op = db.session.get(type(world["op"]), world["op"].id)
    assert not (op.source_filter or {}).get("city")
    assert not (op.field_settings or {}).get("fields")
    # The steps owners do edit stay editable.
    script = client.get(_step(world, "questionnaire")).get_data(as_text=True)
    assert "disabled>" not in script and "shown read-only" not in script


@pytest.mark.parametrize("who", ["admin", "organizer"])
def test_organizers_change_source_and_fields(client, world, db, who):
    login(client, world[who])
    assert "disabled>" not in client.get(_step(world, "fields")).get_data(as_text=True)
    source = post_form(client, _step(world, "source"), {"kind": "filter", "city": "Lyon"})
    fields = post_form(client, _step(world, "fields"),
                       {"vis_email": "visible", "order_email": "1"})
    assert source.status_code == 302 and fields.status_code == 302
    db.session.expire_all()
    op = db.session.get(type(world["op"]), world["op"].id)
    assert op.source_filter["city"] == "Lyon"
    assert op.field_settings["fields"][0] == {"key": "email", "visibility": "visible",
                                              "highlight": False}


def _menu_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "the page has the main menu"
    return re.findall(r'<a href="([^"]+)"', nav.group(1))


@pytest.mark.parametrize("who", ["agent", "owner"])
def test_volunteers_menu_holds_only_what_they_may_open(client, world, who):
    """A volunteer or an owner who joined by link is in no organization: the console's menu
    (every link a 403 for them) is not theirs; their operations are."""
    sign_in_as_phone_user(client, world[who])
    for page in ("/my/operations", "/no-such-page"):
        links = _menu_links(client.get(page).get_data(as_text=True))
        assert links == ["/my/operations"], (page, links)
    for link in links:
        assert client.get(link).status_code == 200, link


@pytest.mark.parametrize("who", ["admin", "organizer"])
def test_staff_menu_is_the_console_and_every_link_opens(client, world, who):
    login(client, world[who])
    links = _menu_links(client.get("/console/").get_data(as_text=True))
    assert "/console/" in links and "/console/operations/" in links and "/my/operations" \
        not in links
    for link in links:
        assert client.get(link).status_code == 200, link
