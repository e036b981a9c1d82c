"""In a real browser: the source step's live count follows what is typed, and a draft is
deleted after its confirmation page."""

from playwright.sync_api import expect

from ringround.extensions import db
from ringround.models import Operation, Tag
from tests import factories


def test_live_count_then_delete_the_draft(phone_page, live_server):
    page = phone_page
    org, admin = factories.org_with_admin(name="Tenants Union")
    member = Tag(organization_id=org.id, name="member")
    db.session.add(member)
    for n in range(3):
        person = factories.contact(org, first_name=f"Member{n}")
        person.tags.append(member)
    factories.contact(org, first_name="Stranger")
    db.session.commit()
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/console/operations/")
    page.get_by_role("button", name="New operation").click()
    page.get_by_role("navigation", name="Steps").get_by_role("link", name="Who to call").click()
    count = page.locator("#source-count")
    expect(count).to_contain_text("choose a list or a filter")
    page.get_by_label("With any of these tags").fill("member")
    expect(count).to_contain_text("3 contacts match")  # before saving anything
    page.get_by_label("Without these tags").press_sequentially("member")
    expect(count).to_contain_text("0 contacts match")
    op_id = int(page.url.split("/")[-3])
    assert db.session.get(Operation, op_id).source_filter == {}

    page.get_by_role("link", name="Delete this draft").click()
    page.get_by_role("link", name="Keep it").click()
    expect(page.locator("#step-title")).to_contain_text("10. Review")
    page.get_by_role("link", name="Delete this draft").click()
    page.get_by_role("button", name="Delete the draft").click()
    expect(page.get_by_text("The draft was deleted.")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Operation, op_id) is None
    assert page.console_errors == []
