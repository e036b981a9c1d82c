"""What the "Results and retries" and "Fields" steps show is what is stored, however the step
is reached (full page or htmx fragment, after a save, after another step's save), and the
stored rules do what the page says (an unticked "Try again" box means no retry)."""

from datetime import UTC, datetime, time
from html.parser import HTMLParser

import pytest
from freezegun import freeze_time

from ringround import operations as ops
from ringround.models import Operation, Target, TargetState
from ringround.operation_fields import exposed_fields
from ringround.operation_rules import DEFAULT_RETRY_RULES
from ringround.queue import ResultIn, lease_next, record_result
from tests.conftest import post_form
from tests.factories import login
from tests.web.test_operation_wizard import step_url

HTMX = {"HX-Request": "true"}


@pytest.fixture
def org_admin(factories, client):
    org, admin = factories.org_with_admin()
    login(client, admin)
    return org, admin


@pytest.fixture
def op(org_admin, client, db):
    """A draft made through the console's "New operation" button."""
    response = post_form(client, "/console/operations/new", {}, page="/console/operations/")
    op = db.session.get(Operation, int(response.location.split("/")[-3]))
    op.allow_campaign_line = True  # the automatic statuses' rows show only with the line on
    db.session.commit()
    return op


class Controls(HTMLParser):
    """The form controls of a page as a browser sees them: checkbox states, input values,
    selected options."""

    def __init__(self, html: str):
        super().__init__()
        self.checked: dict[str, bool] = {}
        self.values: dict[str, str] = {}
        self.selected: dict[str, str] = {}
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                self.checked[a["name"]] = "checked" in a
            else:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.selected[self._select] = a.get("value")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None

    def posted(self, ticked: set[str]) -> dict[str, str]:
        """What a browser posts: every value, and only the boxes ticked (`ticked`)."""
        data = {name: value for name, value in self.values.items() if name != "csrf_token"}
        data.update(self.selected)
        data.update({name: "1" for name in ticked})
        return data


def views(client, op, step):
    """The step as a full page and as an htmx fragment."""
    page = client.get(step_url(op, step))
    fragment = client.get(step_url(op, step), headers=HTMX)
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    return [Controls(page.get_data(as_text=True)), Controls(fragment.get_data(as_text=True))]


def save_with_htmx(client, op, step, data, action="next"):
    """POST a step as htmx does, and follow the redirect as its request does (HX-Request
    kept): the step shown next, as a browser would see it."""
    response = post_form(client, step_url(op, step), {**data, "action": action}, headers=HTMX)
    assert response.status_code == 302, response.get_data(as_text=True)
    shown = client.get(response.location, headers=HTMX)
    assert shown.headers["HX-Push-Url"] == response.location
    return Controls(shown.get_data(as_text=True))


def retry_boxes(controls: Controls) -> set[str]:
    return {name[len("retry_"):] for name, on in controls.checked.items()
            if name.startswith("retry_") and on}


def test_recycling_step_is_reached_after_another_steps_save_with_the_stored_retries(
        client, op):
    # The bug: the next step was rendered with the previous step's POST as "what was typed",
    # so every box looked unticked while the default rules stayed active.
    shown = save_with_htmx(client, op, "questionnaire", {"script": "Hello"})
    assert retry_boxes(shown) == set(DEFAULT_RETRY_RULES)
    assert shown.values["retries_no_answer"] == "3" and shown.values["interval_busy"] == "30"


def test_fields_step_is_reached_after_another_steps_save_with_the_stored_highlights(
        client, op):
    shown = save_with_htmx(client, op, "exclusions", {"cooldown_minutes": "0"})
    assert shown.checked["hl_first_name"] is True  # the default: first name highlighted
    assert shown.selected["vis_city"] == "visible"


def test_stored_defaults_show_as_ticked_when_the_column_is_empty(client, op, db):
    # An operation whose rules were never written: the queue applies the defaults, and so
    # must the page.
    db.session.get(Operation, op.id).retry_rules = None
    db.session.commit()
    for controls in views(client, op, "recycling"):
        assert retry_boxes(controls) == set(DEFAULT_RETRY_RULES)


def test_recycling_step_shows_exactly_what_is_stored_and_the_queue_obeys_it(
        client, op, db, factories, org_admin):
    org, admin = org_admin
    page = views(client, op, "recycling")[0]
    ticked = {"retry_no_answer", "retry_talked", "retry_auto_busy"}
    data = page.posted(ticked)
    data.update(retries_no_answer="4", interval_no_answer="30",
                retries_talked="1", interval_talked="600")
    for action in ("add", "next"):  # "Save" stays on the step, "Save and continue" moves on
        after = save_with_htmx(client, op, "recycling", data, action=action)
        if action == "add":
            assert retry_boxes(after) == {"no_answer", "talked", "auto_busy"}

    stored = db.session.get(Operation, op.id)
    db.session.refresh(stored)
    assert stored.retry_rules == {
        "no_answer": {"retries": 4, "interval_minutes": 30},
        "talked": {"retries": 1, "interval_minutes": 600},
        "auto_busy": {"retries": 3, "interval_minutes": 30}}
    for controls in views(client, op, "recycling"):
        assert retry_boxes(controls) == {"no_answer", "talked", "auto_busy"}
        assert controls.values["retries_no_answer"] == "4"
        assert controls.values["interval_no_answer"] == "30"
        assert controls.values["interval_talked"] == "600"
        assert "retry_refused" not in controls.checked  # the remove group is never retried
        # unticked rows offer their default rule, should the box be ticked again
        assert (controls.values["retries_busy"], controls.values["interval_busy"]) == (
            "3", "30")

    # What the queue does: an unticked result (busy, voicemail) is not tried again; a ticked
    # one (no answer) is, after its interval.
    people = [factories.contact(org, first_name=f"P{n}") for n in range(3)]
    now = datetime(2026, 3, 17, 18, 0, tzinfo=UTC)  # 14:00 in New York, a Tuesday
    with freeze_time(now):
        ops.update_basics(db.session, stored, name="Turnout", description="",
                          starts_at=datetime(2026, 3, 1, tzinfo=UTC), ends_at=None,
                          window_start=time(9), window_end=time(21), weekdays="0123456")
        ops.update_source(db.session, stored, contact_filter={"tags_none": "nobody"})
        ops.activate(db.session, stored, admin)
        db.session.commit()
        outcomes = {}
        for code in ("busy", "voicemail", "no_answer"):
            lease = lease_next(db.session, stored, admin, max_open=0)
            outcomes[code] = record_result(db.session, ResultIn(
                f"r-{code}", stored.id, lease.target_id, admin.id, code), now=now)
            db.session.commit()
            target = db.session.get(Target, lease.target_id)
            db.session.refresh(target)
            outcomes[code] = (target.state, target.next_eligible_at)
    assert len(people) == 3
    assert outcomes["busy"][0] is TargetState.DONE
    assert outcomes["voicemail"][0] is TargetState.DONE
    state, next_at = outcomes["no_answer"]
    assert state is TargetState.WAITING
    assert next_at.replace(tzinfo=UTC) == datetime(2026, 3, 17, 18, 30, tzinfo=UTC)


def test_recycling_step_refused_post_keeps_what_was_typed_then_shows_the_stored(client, op):
    page = views(client, op, "recycling")[0]
    data = page.posted({"retry_talked"})
    data.update(retries_talked="lots", interval_talked="", label_not_home="Out")
    response = post_form(client, step_url(op, "recycling"), data, headers=HTMX)
    typed = Controls(response.get_data(as_text=True))
    assert retry_boxes(typed) == {"talked"} and typed.values["retries_talked"] == "lots"
    assert typed.values["label_not_home"] == "Out"
    for controls in views(client, op, "recycling"):  # nothing was saved
        assert retry_boxes(controls) == set(DEFAULT_RETRY_RULES)
        assert controls.values["label_not_home"] == "Not home"


def test_fields_step_shows_exactly_what_is_stored_and_callers_see_it(
        client, op, db, factories, org_admin):
    org, _ = org_admin
    page = views(client, op, "fields")[0]
    data = page.posted(ticked={"hl_city", "hl_language", "hl_email"})
    data.update({name: "" for name in data if name.startswith("order_")})
    data.update(vis_city="editable", vis_first_name="visible", vis_last_name="hidden",
                vis_language="visible", vis_email="hidden", order_city="1",
                order_language="2", order_first_name="3")
    save_with_htmx(client, op, "fields", data)

    stored = db.session.get(Operation, op.id)
    db.session.refresh(stored)
    settings = {f["key"]: f for f in stored.field_settings["fields"]}
    assert settings["city"] == {"key": "city", "visibility": "editable", "highlight": True}
    assert settings["first_name"]["highlight"] is False  # unticked: not highlighted
    assert settings["language"]["highlight"] is True
    assert settings["email"] == {"key": "email", "visibility": "hidden", "highlight": False}
    assert [f["key"] for f in stored.field_settings["fields"][:3]] == [
        "city", "language", "first_name"]
    for controls in views(client, op, "fields"):
        assert controls.selected["vis_city"] == "editable"
        assert controls.selected["vis_last_name"] == "hidden"
        assert controls.selected["vis_first_name"] == "visible"
        highlighted = {name[3:] for name, on in controls.checked.items()
                       if name.startswith("hl_") and on}
        assert highlighted == {"city", "language"}  # a hidden field is never highlighted
        assert [controls.values[f"order_{key}"] for key in ("city", "language",
                                                            "first_name")] == ["1", "2", "3"]

    person = factories.contact(org, first_name="Ada", city="Lyon", language="fr",
                               email="ada@example.org")
    shown = exposed_fields(stored, person)
    assert [(f["key"], f["highlight"], f["editable"]) for f in shown] == [
        ("city", True, True), ("language", True, False), ("first_name", False, False)]


@pytest.mark.parametrize("step", ["recycling", "fields"])
def test_every_problem_of_a_step_is_shown_at_once_next_to_its_input(client, op, step):
    page = views(client, op, step)[0]
    if step == "recycling":
        data = page.posted({"retry_talked", "retry_busy"})
        data.update(retries_talked="x", interval_busy="y")
        bad = ["retries_talked", "interval_busy"]
    else:
        data = page.posted(set())
        data.update(order_city="first", order_email="second")
        bad = ["order_city", "order_email"]
    html = post_form(client, step_url(op, step), data).get_data(as_text=True)
    for name in bad:
        assert f'id="{name}-err"' in html and f'aria-describedby="{name}-err"' in html
        assert f'href="#{name}"' in html  # listed in the summary at the top
