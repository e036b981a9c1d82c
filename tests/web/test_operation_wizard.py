"""The operation wizard over HTTP: every step, bad input (clear message, nothing lost)."""

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from ringround import operations as ops
from ringround.models import (
    CustomField,
    Operation,
    OperationMode,
    OperationRole,
    OperationState,
    SavedList,
)
from tests.conftest import post_form
from tests.factories import login


@pytest.fixture
def org_admin(factories, client):
    org, admin = factories.org_with_admin()
    login(client, admin)
    return org, admin


@pytest.fixture
def op(org_admin, client, db):
    response = post_form(client, "/console/operations/new", {}, page="/console/operations/")
    assert response.status_code == 302
    assert response.location.endswith("/steps/mode")
    return db.session.scalars(select(Operation)).one()


def step_url(op, step):
    return f"/console/operations/{op.id}/steps/{step}"


def post_step(client, op, step, data, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return post_form(client, step_url(op, step), data, headers=headers)


def test_every_step_renders_as_a_page_and_as_a_fragment(client, op):
    for step in ("mode", "source", "basics", "method", "questionnaire", "recycling",
                 "exclusions", "fields", "people", "review"):
        page = client.get(step_url(op, step))
        assert page.status_code == 200, step
        html = page.get_data(as_text=True)
        assert "<html" in html and 'aria-current="step"' in html
        fragment = client.get(step_url(op, step), headers={"HX-Request": "true"})
        body = fragment.get_data(as_text=True)
        assert "<html" not in body and body.lstrip().startswith('<div id="wizard"'), step
        assert fragment.headers["HX-Push-Url"].endswith(f"/steps/{step}")


def test_unknown_step_is_404(client, op):
    assert client.get(step_url(op, "teleport")).status_code == 404


def test_mode_step_saves_and_moves_on(client, op, db):
    response = post_step(client, op, "mode", {"mode": "guided"})
    assert response.status_code == 302 and response.location.endswith("/steps/source")
    assert db.session.get(Operation, op.id).mode is OperationMode.GUIDED


def test_mode_step_with_htmx_redirects_to_the_next_step(client, op):
    """htmx's request follows the redirect (keeping its headers): the next step's fragment
    comes with its URL to push, so the address bar names the step on screen."""
    response = post_step(client, op, "mode", {"mode": "simple"}, htmx=True)
    assert response.status_code == 302 and response.location.endswith("/steps/source")
    followed = client.get(response.location, headers={"HX-Request": "true"})
    assert followed.headers["HX-Push-Url"].endswith("/steps/source")
    body = followed.get_data(as_text=True)
    assert "<html" not in body and "With any of these tags" in body


def test_mode_step_refuses_nonsense(client, op):
    response = post_step(client, op, "mode", {"mode": "robot"})
    assert response.status_code == 200
    assert "Please correct the fields" in response.get_data(as_text=True)


def test_source_step_with_a_filter_and_with_a_list(client, op, db):
    response = post_step(client, op, "source", {
        "kind": "filter", "tags_any": "supporter, volunteer", "city": "Lyon",
        "not_called_days": "14", "has_mobile": "y"})
    assert response.status_code == 302
    saved = db.session.get(Operation, op.id)
    assert saved.source_filter == {"tags_any": ["supporter", "volunteer"], "city": "Lyon",
                                   "has_mobile": True, "not_called_days": 14}
    listed = SavedList(organization_id=op.organization_id, name="Members", filter={})
    db.session.add(listed)
    db.session.commit()
    assert "Members" in client.get(step_url(op, "source")).get_data(as_text=True)
    post_step(client, op, "source", {"kind": "list", "list_id": str(listed.id)})
    assert db.session.get(Operation, op.id).source_list_id == listed.id


def test_source_step_without_any_filter_says_so(client, op):
    response = post_step(client, op, "source", {"kind": "filter", "city": "   "})
    assert "Choose a saved list or set at least one filter" in response.get_data(as_text=True)
    response = post_step(client, op, "source", {"kind": "list", "list_id": ""})
    assert "Choose one of your saved lists" in response.get_data(as_text=True)


def test_basics_step_reads_times_in_the_organizations_zone(client, op, db, org_admin):
    org, _ = org_admin
    org.time_zone = "Europe/Paris"
    db.session.commit()
    response = post_step(client, op, "basics", {
        "name": "Doors and phones", "description": "Spring push",
        "starts_at": "2026-03-02T10:00", "ends_at": "", "window_start": "10:00",
        "window_end": "20:30", "weekdays": ["0", "2", "4"]})
    assert response.status_code == 302
    saved = db.session.get(Operation, op.id)
    assert saved.starts_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert saved.ends_at == datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # a month later, CEST
    assert (saved.window_start, saved.window_end, saved.weekdays) == (
        time(10), time(20, 30), "024")
    page = client.get(step_url(op, "basics")).get_data(as_text=True)
    assert 'value="2026-03-02T10:00"' in page


def test_basics_step_keeps_what_was_typed_when_refused(client, op, db):
    response = post_step(client, op, "basics", {
        "name": "Kept name", "description": "Kept description",
        "starts_at": "2026-03-02T10:00", "ends_at": "2026-03-01T10:00",
        "window_start": "09:00", "window_end": "21:00", "weekdays": ["0"]})
    html = response.get_data(as_text=True)
    assert "The end must come after the start." in html
    assert 'value="Kept name"' in html and "Kept description" in html
    assert db.session.get(Operation, op.id).name == "New call operation"
    response = post_step(client, op, "basics", {
        "name": "", "starts_at": "", "window_start": "21:00", "window_end": "09:00"})
    html = response.get_data(as_text=True)
    assert "The operation needs a name." in html
    assert "Give the date and time calling starts." in html
    response = post_step(client, op, "basics", {
        "name": "X", "starts_at": "2026-03-02T10:00", "window_start": "21:00",
        "window_end": "09:00", "weekdays": ["1"]})
    assert "The daily window must end after it starts." in response.get_data(as_text=True)


def test_method_step_needs_one_way_to_call(client, op, db):
    response = post_step(client, op, "method", {})
    assert "Choose at least one way to call." in response.get_data(as_text=True)
    post_step(client, op, "method", {"own_phone": "y", "campaign_line": "y"})
    saved = db.session.get(Operation, op.id)
    assert saved.allow_own_phone and saved.allow_campaign_line


def test_questionnaire_template_preview_apply_edit_and_branches(client, op, db):
    url = f"/console/operations/{op.id}"
    preview = client.get(step_url(op, "questionnaire") + "?preview=mobilize")
    assert "Can we count on you to join us?" in preview.get_data(as_text=True)
    assert db.session.get(Operation, op.id).questionnaire["questions"] == []  # only a preview
    post_form(client, f"{url}/questionnaire/template", {"template": "mobilize"},
              page=step_url(op, "questionnaire"))
    assert db.session.get(Operation, op.id).questionnaire["template"] == "mobilize"
    # edit q2: new text, and "yes" now ends the questionnaire
    post_form(client, f"{url}/questions/q2", {
        "q2-kind": "yes_no", "q2-text": "Will you bring a friend?", "q2-next_id": "",
        "q2-branch_yes": "end", "q2-branch_no": "q3"}, page=step_url(op, "questionnaire"))
    q2 = db.session.get(Operation, op.id).questionnaire["questions"][1]
    assert q2["text"] == "Will you bring a friend?"
    assert [c["next"] for c in q2["choices"]] == ["end", "q3"]
    # add a choice question
    post_form(client, f"{url}/questions/new", {
        "new-kind": "choice", "new-text": "Which day?", "new-choices": "Saturday\nSunday\n",
        "new-next_id": ""}, page=step_url(op, "questionnaire"))
    questions = db.session.get(Operation, op.id).questionnaire["questions"]
    assert questions[-1]["id"] == "q4" and len(questions[-1]["choices"]) == 2
    # move and delete
    post_form(client, f"{url}/questions/q4/up", {}, page=step_url(op, "questionnaire"))
    ids = [q["id"] for q in db.session.get(Operation, op.id).questionnaire["questions"]]
    assert ids == ["q1", "q2", "q4", "q3"]
    post_form(client, f"{url}/questions/q4/delete", {}, page=step_url(op, "questionnaire"))
    ids = [q["id"] for q in db.session.get(Operation, op.id).questionnaire["questions"]]
    assert ids == ["q1", "q2", "q3"]
    # start blank
    post_form(client, f"{url}/questionnaire/template", {"template": ""},
              page=step_url(op, "questionnaire"))
    assert db.session.get(Operation, op.id).questionnaire["questions"] == []


def test_end_of_the_questionnaire_stays_the_end_when_a_question_is_added(client, op, db):
    """A question left open goes on to the next one added; one the organizer ended stays
    ended (it used to be linked to the next question added: people were asked it anyway)."""
    url = f"/console/operations/{op.id}"
    page = step_url(op, "questionnaire")

    def add(kind, text, next_id, **more):
        post_form(client, f"{url}/questions/new", {
            "new-kind": kind, "new-text": text, "new-next_id": next_id,
            **{f"new-{k}": v for k, v in more.items()}}, page=page)
        return {q["id"]: q for q in db.session.get(Operation, op.id).questionnaire["questions"]}

    import re

    add("yes_no", "Can you come?", "")
    # The value the editor offers for "End of the questionnaire", as a person picks it.
    editor = client.get(page).get_data(as_text=True)
    select = re.search(r'<select[^>]*name="new-next_id".*?</select>', editor, re.S).group(0)
    end = re.search(r'<option[^>]*value="([^"]*)"[^>]*>End of the questionnaire<', select)
    questions = add("choice", "Which session?", end.group(1), choices="Morning\nEvening")
    assert questions["q1"]["next"] == "q2"  # left open: linked to the question added
    questions = add("text", "Why not?", "")
    assert questions["q2"]["next"] == "end"  # ended: stays the end
    post_form(client, f"{url}/questions/q1", {
        "q1-kind": "yes_no", "q1-text": "Can you come?", "q1-next_id": "q2",
        "q1-branch_yes": "q2", "q1-branch_no": "q3"}, page=page)
    html = client.get(page).get_data(as_text=True)
    assert "Yes → q2; No → q3; </small>" in html  # no "then" when every answer branches
    from ringround.questionnaires import next_question
    saved = db.session.get(Operation, op.id).questionnaire
    assert next_question(saved, {"q1": "yes", "q2": "morning"}) is None
    # Editing the ended question shows "End of the questionnaire" chosen.
    editor = client.get(page + "?edit=q2").get_data(as_text=True)
    assert '<option selected value="end">' in editor or 'value="end" selected' in editor


def test_a_branch_into_a_circle_is_refused_and_the_typed_text_kept(client, op, db):
    url = f"/console/operations/{op.id}"
    post_form(client, f"{url}/questionnaire/template", {"template": "inform"},
              page=step_url(op, "questionnaire"))
    response = post_form(client, f"{url}/questions/q3", {
        "q3-kind": "text", "q3-text": "Typed but refused", "q3-next_id": "q1"},
        page=step_url(op, "questionnaire"))
    html = response.get_data(as_text=True)
    assert "circle" in html and "Typed but refused" in html
    q3 = db.session.get(Operation, op.id).questionnaire["questions"][2]
    assert q3["next"] is None and q3["text"] == "Any questions we should follow up on?"
    response = post_form(client, f"{url}/questions/new", {
        "new-kind": "choice", "new-text": "Only one", "new-choices": "Alone"},
        page=step_url(op, "questionnaire"))
    assert "at least two choices" in response.get_data(as_text=True)


def test_questionnaire_step_saves_the_script(client, op, db):
    response = post_step(client, op, "questionnaire", {"script": "Hi {first_name}!"})
    assert response.status_code == 302 and response.location.endswith("/steps/recycling")
    assert db.session.get(Operation, op.id).script == "Hi {first_name}!"


def test_recycling_step_renames_adds_and_sets_retries(client, op, db):
    op.allow_campaign_line = True  # automatic statuses show only with the campaign line
    db.session.commit()
    page = client.get(step_url(op, "recycling")).get_data(as_text=True)
    assert "Busy (automatic)" in page and 'name="retry_refused"' not in page
    response = post_step(client, op, "recycling", {
        "label_not_home": "Nobody home", "retry_no_answer": "1", "retries_no_answer": "3",
        "interval_no_answer": "90", "retry_call_back": "1", "retries_call_back": "2",
        "interval_call_back": "120", "retry_auto_busy": "1", "retries_auto_busy": "2",
        "interval_auto_busy": "10", "new_label": "Wants a letter", "new_group": "contacted",
        "leave_message": "y", "message": "Hello from the union", "action": "next"})
    assert response.status_code == 302
    saved = db.session.get(Operation, op.id)
    assert saved.dispositions["labels"] == {"not_home": "Nobody home"}
    assert saved.dispositions["custom"][0]["label"] == "Wants a letter"
    assert saved.retry_rules == {"no_answer": {"retries": 3, "interval_minutes": 90},
                                 "call_back": {"retries": 2, "interval_minutes": 120},
                                 "auto_busy": {"retries": 2, "interval_minutes": 10}}
    assert saved.voicemail_policy == {"leave_message": True, "message": "Hello from the union"}
    # The review names the operation's own results too.
    review = client.get(step_url(op, "review")).get_data(as_text=True)
    assert "Your own results: Wants a letter" in review


def test_recycling_step_bad_number_keeps_the_input(client, op, db):
    before = dict(db.session.get(Operation, op.id).retry_rules)
    response = post_step(client, op, "recycling", {
        "label_not_home": "Typed label", "retry_no_answer": "1", "retries_no_answer": "many",
        "interval_no_answer": "90"})
    html = response.get_data(as_text=True)
    assert "must be a whole number" in html and 'value="Typed label"' in html
    assert 'value="many"' in html
    assert db.session.get(Operation, op.id).retry_rules == before


def test_exclusions_step_adds_rules_and_goals(client, op, db):
    db.session.add(CustomField(organization_id=op.organization_id, key="voted", label="Voted"))
    db.session.commit()
    url = f"/console/operations/{op.id}"
    assert '<option value="voted">Voted</option>' in client.get(
        step_url(op, "exclusions")).get_data(as_text=True)
    post_form(client, f"{url}/questionnaire/template", {"template": "mobilize"},
              page=step_url(op, "questionnaire"))
    response = post_step(client, op, "exclusions", {
        "new_kind": "field_equals", "new_field": "voted", "new_value": "yes",
        "new_label": "Already voted", "household_wide": "y", "cooldown_minutes": "60",
        "max_calls_per_person": "3", "done_question": "q1", "done_answer": "yes",
        "done_label": "Signed up", "done_reselect": "30", "action": "add"})
    assert response.status_code == 302 and response.location.endswith("/steps/exclusions")
    saved = db.session.get(Operation, op.id)
    assert saved.exclusions == {
        "household_wide": True,
        "rules": [{"kind": "field_equals", "field": "voted", "value": "yes",
                   "label": "Already voted"}],
        "done_conditions": [{"kind": "answered", "question": "q1", "answer": "yes",
                             "label": "Signed up", "reselect_after_days": 30}]}
    assert (saved.cooldown_minutes, saved.max_calls_per_person) == (60, 3)
    post_step(client, op, "exclusions", {"new_kind": "opted_out", "new_label": "Opted out",
                                         "cooldown_minutes": "60", "household_wide": "y",
                                         "remove_rule_0": "1"})
    rules = db.session.get(Operation, op.id).exclusions["rules"]
    assert rules == [{"kind": "opted_out", "label": "Opted out"}]


def test_exclusions_step_explains_a_missing_label(client, op, db):
    response = post_step(client, op, "exclusions", {
        "new_kind": "tag", "new_tag": "staff", "new_label": "", "cooldown_minutes": "0"})
    html = response.get_data(as_text=True)
    assert "needs a label" in html and 'value="staff"' in html
    assert db.session.get(Operation, op.id).exclusions["rules"] == []


def test_fields_step_orders_highlights_and_refuses_never_editable(client, op, db):
    db.session.add(CustomField(organization_id=op.organization_id, key="donations",
                               label="Donations"))
    db.session.commit()
    page = client.get(step_url(op, "fields")).get_data(as_text=True)
    # the editable option is not even offered for date of birth or donations
    dob = page[page.index('name="vis_date_of_birth"'):]
    assert 'value="editable"' not in dob[:dob.index("</select>")]
    response = post_step(client, op, "fields", {
        "vis_city": "editable", "order_city": "1", "hl_city": "1",
        "vis_first_name": "visible", "order_first_name": "2",
        "vis_donations": "visible", "order_donations": "3"})
    assert response.status_code == 302
    fields = db.session.get(Operation, op.id).field_settings["fields"]
    assert fields[:3] == [{"key": "city", "visibility": "editable", "highlight": True},
                          {"key": "first_name", "visibility": "visible", "highlight": False},
                          {"key": "donations", "visibility": "visible", "highlight": False}]
    response = post_step(client, op, "fields", {"vis_donations": "editable",
                                                "vis_city": "visible"})
    assert "Donations can never be made editable" in response.get_data(as_text=True)
    assert db.session.get(Operation, op.id).field_settings["fields"][0]["visibility"] == (
        "editable")


def test_people_step_adds_updates_and_removes(client, op, db, factories, org_admin):
    org, admin = org_admin
    organizer = factories.organizer(org, admin)
    url = f"/console/operations/{op.id}"
    page = client.get(step_url(op, "people")).get_data(as_text=True)
    assert organizer.display_name in page
    post_form(client, f"{url}/members", {"user_id": str(organizer.id), "role": "agent",
                                         "prefer_tags": "spanish", "avoid_tags": ""},
              page=step_url(op, "people"))
    member = next(m for m in db.session.get(Operation, op.id).members
                  if m.user_id == organizer.id)
    assert member.role is OperationRole.AGENT and member.prefer_tags == ["spanish"]
    post_form(client, f"{url}/members/{member.id}", {
        "role": "owner", "prefer_tags": "", "avoid_tags": "far-away", "action": "save"},
        page=step_url(op, "people"))
    db.session.refresh(member)
    assert member.role is OperationRole.OWNER and member.avoid_tags == ["far-away"]
    post_form(client, f"{url}/members/{member.id}", {"role": "owner", "action": "remove"},
              page=step_url(op, "people"))
    assert [m.user_id for m in db.session.get(Operation, op.id).members] == [admin.id]


def test_people_step_keeps_the_last_owner(client, op, db):
    owner = db.session.get(Operation, op.id).members[0]
    response = post_form(client, f"/console/operations/{op.id}/members/{owner.id}",
                         {"role": "agent", "action": "save"}, page=step_url(op, "people"))
    assert "at least one owner" in response.get_data(as_text=True)


def test_review_lists_problems_then_activates(client, op, db):
    page = client.get(step_url(op, "review")).get_data(as_text=True)
    assert "Choose who to call" in page and "disabled" in page
    post_step(client, op, "source", {"kind": "filter", "tags_any": "supporter"})
    page = client.get(step_url(op, "review")).get_data(as_text=True)
    assert "Before activating" not in page
    response = post_form(client, f"/console/operations/{op.id}/activate", {},
                         page=step_url(op, "review"))
    assert response.status_code == 302 and response.location.endswith(f"/operations/{op.id}")
    assert db.session.get(Operation, op.id).state is OperationState.ACTIVE


def test_activating_an_unready_operation_shows_why(client, op, db):
    response = post_form(client, f"/console/operations/{op.id}/activate", {},
                         page=step_url(op, "review"), follow_redirects=True)
    assert "Choose who to call" in response.get_data(as_text=True)
    assert db.session.get(Operation, op.id).state is OperationState.DRAFT


def test_source_step_and_review_show_how_many_contacts_match(client, op, db, factories,
                                                             org_admin):
    org, _ = org_admin
    factories.contact(org, city="Lyon")
    factories.contact(org, city="Lyon")
    factories.contact(org, city="Paris")
    post_step(client, op, "source", {"kind": "filter", "city": "lyon"})
    assert "matches 2 contacts" in client.get(step_url(op, "source")).get_data(as_text=True)
    assert "2 contacts match now" in client.get(step_url(op, "review")).get_data(as_text=True)


def test_an_end_left_at_its_default_follows_a_new_start(client, op, db):
    page = client.get(step_url(op, "basics")).get_data(as_text=True)
    shown_end = page.split('id="ends_at"')[1].split('value="')[1].split('"')[0]
    post_step(client, op, "basics", {
        "name": "Later", "starts_at": "2030-01-31T18:00", "ends_at": shown_end,
        "window_start": "09:00", "window_end": "21:00", "weekdays": ["0"]})
    saved = db.session.get(Operation, op.id)
    assert saved.ends_at == datetime(2030, 2, 28, 18, 0, tzinfo=UTC)


def test_source_step_adds_and_removes_field_conditions(client, op, db, factories, org_admin):
    org, _ = org_admin
    db.session.add(CustomField(organization_id=org.id, key="shift", label="Shift"))
    factories.contact(org, custom={"shift": "night"})
    factories.contact(org, custom={"shift": "day"})
    post_step(client, op, "source", {"kind": "filter", "field_key": "shift",
                                     "field_op": "equals", "field_value": "night"})
    saved = db.session.get(Operation, op.id)
    assert saved.source_filter == {"fields": [{"field": "shift", "op": "equals",
                                               "value": "night"}]}
    page = client.get(step_url(op, "source")).get_data(as_text=True)
    assert "matches 1 contact." in page and "shift is “night”" in page
    post_step(client, op, "source", {"kind": "filter", "city": "Lyon",
                                     "remove_field_0": "1", "field_op": "equals"})
    assert db.session.get(Operation, op.id).source_filter == {"city": "Lyon"}


def test_people_step_links_to_the_join_links_page(app, client, factories, db):
    org, admin = factories.org_with_admin()
    op = ops.create_draft(db.session, org.id, admin)
    db.session.commit()
    login(client, admin)
    page = client.get(step_url(op, "people")).get_data(as_text=True)
    assert f'href="/operations/{op.id}/people"' in page
    assert client.get(f"/operations/{op.id}/people").status_code == 200


def test_a_trial_run_follows_the_branches(client, op, db):
    post_form(client, f"/console/operations/{op.id}/questionnaire/template",
              {"template": "stay_in_touch"}, page=step_url(op, "questionnaire"))
    url = step_url(op, "questionnaire")
    first = client.get(url + "?try=1").get_data(as_text=True)
    assert "q1 · May we keep you posted by text message?" in first
    said_yes = client.get(url + "?try=1&a-q1=yes").get_data(as_text=True)
    assert "q2 · When is the best time to reach you?" in said_yes
    said_no = client.get(url + "?try=1&a-q1=no").get_data(as_text=True)
    assert "End of the questionnaire." in said_no and "q2 ·" not in said_no
