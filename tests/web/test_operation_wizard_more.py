"""The wizard's smaller promises: deleting drafts (only drafts, only organizers, audited),
the source step's live count, every problem of a form at once, labels in the trial run."""

import pytest
from sqlalchemy import select

from ringround.models import (
    AuditEntry,
    Operation,
    OperationMember,
    OperationRole,
    OperationState,
    SavedList,
    Tag,
)
from tests.conftest import csrf_token_from, post_form
from tests.factories import login
from tests.web.test_operation_wizard import step_url


@pytest.fixture
def world(db, factories):
    org, admin = factories.org_with_admin()
    organizer = factories.organizer(org, admin)
    owner = factories.phone_user("Owner")
    owner.email, owner.password_hash = "owner@example.org", admin.password_hash
    draft = factories.operation(org, owner=admin, name="Spring draft")
    draft.members.append(OperationMember(user_id=owner.id, role=OperationRole.OWNER))
    db.session.commit()
    return {"org": org, "admin": admin, "organizer": organizer, "owner": owner, "op": draft}


def delete_url(op):
    return f"/console/operations/{op.id}/delete"


# --- deleting a draft ------------------------------------------------------------------------

def test_an_organizer_deletes_a_draft_after_confirming(client, db, world):
    op = world["op"]
    op_id = op.id
    login(client, world["organizer"])
    wizard = client.get(step_url(op, "review")).get_data(as_text=True)
    assert f'href="{delete_url(op)}"' in wizard
    confirm = client.get(delete_url(op)).get_data(as_text=True)
    assert "Delete the draft “Spring draft”?" in confirm
    assert client.post(delete_url(op), data={}).status_code == 400  # no CSRF token
    assert db.session.get(Operation, op.id) is not None
    response = client.post(delete_url(op), data={"csrf_token": csrf_token_from(confirm)})
    assert response.status_code == 302 and response.location.endswith("/console/operations/")
    db.session.expire_all()
    assert db.session.get(Operation, op_id) is None
    assert db.session.scalars(select(OperationMember).where(
        OperationMember.operation_id == op_id)).all() == []
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "operation.deleted")).one()
    assert (entry.subject_id, entry.actor_id) == (op_id, world["organizer"].id)
    overview = client.get("/console/operations/").get_data(as_text=True)
    assert "The draft was deleted." in overview and "Spring draft" not in overview


@pytest.mark.parametrize("state", [OperationState.ACTIVE, OperationState.PAUSED,
                                   OperationState.ENDED])
def test_a_live_or_ended_operation_is_never_deleted(client, db, world, state):
    op = world["op"]
    op.state = state
    db.session.commit()
    login(client, world["admin"])
    assert f'href="{delete_url(op)}"' not in client.get(step_url(op, "review")).get_data(
        as_text=True)
    token = csrf_token_from(client.get(step_url(op, "review")).get_data(as_text=True))
    assert client.get(delete_url(op)).status_code == 409
    assert client.post(delete_url(op), data={"csrf_token": token}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Operation, op.id) is not None


def test_an_owner_who_is_not_an_organizer_cannot_delete(client, db, world):
    op = world["op"]
    login(client, world["owner"])
    page = client.get(step_url(op, "review")).get_data(as_text=True)
    assert f'href="{delete_url(op)}"' not in page
    assert client.get(delete_url(op)).status_code == 403
    response = client.post(delete_url(op), data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Operation, op.id) is not None


# --- the source step's live count --------------------------------------------------------------

def test_the_source_step_counts_what_is_on_screen_before_saving(client, db, world, factories):
    org, op = world["org"], world["op"]
    member = Tag(organization_id=org.id, name="member")
    db.session.add(member)
    for n in range(3):
        person = factories.contact(org, first_name=f"M{n}", city="Lyon" if n else "Nice")
        person.tags.append(member)
    factories.contact(org, first_name="Other", city="Paris")
    saved = SavedList(organization_id=org.id, name="Paris", filter={"city": "Paris"})
    db.session.add(saved)
    db.session.commit()
    login(client, world["admin"])
    page = client.get(step_url(op, "source")).get_data(as_text=True)
    assert f'hx-get="/console/operations/{op.id}/source/count"' in page
    count = f"/console/operations/{op.id}/source/count"

    def shown(query):
        return client.get(count, query_string=query, headers={"HX-Request": "true"}).get_data(
            as_text=True)

    assert 'data-count="3"' in shown({"kind": "filter", "tags_any": "member"})
    assert 'data-count="2"' in shown({"kind": "filter", "tags_any": "member",
                                      "postcode_prefix": "", "city": "Lyon",
                                      "not_called_days": ""})
    assert 'data-count="0"' in shown({"kind": "filter", "tags_any": "member", "city": "Paris"})
    assert 'data-count="1"' in shown({"kind": "list", "list_id": str(saved.id)})
    assert "Choose one of your saved lists" in shown({"kind": "list", "list_id": ""})
    assert "days" in shown({"kind": "filter", "not_called_days": "9999"})
    db.session.expire_all()
    assert db.session.get(Operation, op.id).source_filter == {}  # nothing was saved


# --- every problem at once ---------------------------------------------------------------------

def test_basics_shows_every_problem_at_once_each_next_to_its_field(client, db, world):
    op = world["op"]
    login(client, world["admin"])
    html = post_form(client, step_url(op, "basics"), {
        "name": "", "starts_at": "2026-03-02T10:00", "ends_at": "2026-03-01T10:00",
        "window_start": "21:00", "window_end": "09:00"}).get_data(as_text=True)
    # the form's own check (name) and the core's (end, window, weekdays) together
    for field, message in [("name", "The operation needs a name."),
                           ("ends_at", "The end must come after the start."),
                           ("window_end", "The daily window must end after it starts."),
                           ("weekdays", "Choose at least one weekday.")]:
        assert message in html, field
        assert f'href="#{field}"' in html, field
    assert 'id="window_end-err"' in html and 'aria-describedby="window_end-err"' in html
    assert 'value="2026-03-02T10:00"' in html  # nothing typed is lost
    db.session.expire_all()
    assert db.session.get(Operation, op.id).name == "Spring draft"


# --- the trial run -----------------------------------------------------------------------------

def test_the_trial_run_shows_answer_labels_not_stored_values(client, db, world):
    op = world["op"]
    login(client, world["admin"])
    post_form(client, f"/console/operations/{op.id}/questionnaire/template",
              {"template": "inform"}, page=step_url(op, "questionnaire"))
    db.session.expire_all()
    first = db.session.get(Operation, op.id).questionnaire["questions"][0]
    choice = next(c for c in first["choices"] if c["value"] != c["label"])
    html = client.get(step_url(op, "questionnaire"),
                      query_string={"try": "1", f"a-{first['id']}": choice["value"]}).get_data(
                          as_text=True)
    assert f"<strong>{choice['label']}</strong>" in html
    assert f"<strong>{choice['value']}</strong>" not in html
