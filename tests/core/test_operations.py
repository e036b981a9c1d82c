"""The organizer's side of operations: wizard steps, members, lifecycle, duplicate."""

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from ringround import operations as ops
from ringround.models import (
    AuditEntry,
    CustomField,
    OperationMember,
    OperationMode,
    OperationRole,
    OperationState,
    SavedList,
    Target,
)
from ringround.questionnaires import template


@pytest.fixture
def org_admin(db, factories):
    return factories.org_with_admin()


@pytest.fixture
def draft(db, org_admin):
    org, admin = org_admin
    op = ops.create_draft(db.session, org.id, admin, "Get out the vote")
    db.session.commit()
    return op


def make_ready(db, op):
    ops.update_source(db.session, op, contact_filter={"tags_any": "supporter"})
    db.session.commit()


def test_a_draft_has_sensible_defaults_and_its_creator_as_owner(draft, org_admin):
    _, admin = org_admin
    assert draft.state is OperationState.DRAFT
    assert (draft.window_start, draft.window_end) == (time(9), time(21))
    assert draft.weekdays == "0123456"
    assert draft.ends_at == ops.one_month_after(draft.starts_at)
    assert [(m.user_id, m.role) for m in draft.members] == [(admin.id, OperationRole.OWNER)]
    assert draft.voicemail_policy == {"leave_message": False, "message": ""}
    assert draft.retry_rules["no_answer"] == {"retries": 3, "interval_minutes": 90}


def test_one_month_after_keeps_the_day_or_takes_the_last_one():
    assert ops.one_month_after(datetime(2026, 1, 31, 9, tzinfo=UTC)) == datetime(
        2026, 2, 28, 9, tzinfo=UTC)
    assert ops.one_month_after(datetime(2026, 12, 5, tzinfo=UTC)) == datetime(
        2027, 1, 5, tzinfo=UTC)


def test_mode_must_be_simple_or_guided(db, draft):
    ops.update_mode(db.session, draft, "guided")
    assert draft.mode is OperationMode.GUIDED
    with pytest.raises(ops.OperationError, match="simple or guided"):
        ops.update_mode(db.session, draft, "robot")


def test_source_is_a_list_of_the_same_organization_or_a_filter(db, draft, factories):
    other, _ = factories.org_with_admin()
    foreign = SavedList(organization_id=other.id, name="Theirs", filter={})
    mine = SavedList(organization_id=draft.organization_id, name="Mine", filter={})
    db.session.add_all([foreign, mine])
    db.session.flush()
    with pytest.raises(ops.OperationError, match="saved lists"):
        ops.update_source(db.session, draft, list_id=foreign.id)
    ops.update_source(db.session, draft, list_id=mine.id)
    assert draft.source_list_id == mine.id
    ops.update_source(db.session, draft, contact_filter={
        "tags_any": "a, b,", "city": "Lyon", "not_called_days": "30", "language": ""})
    assert draft.source_list_id is None
    assert draft.source_filter == {"tags_any": ["a", "b"], "city": "Lyon",
                                   "not_called_days": 30}
    with pytest.raises(ops.OperationError, match="at least one filter"):
        ops.update_source(db.session, draft, contact_filter={"city": ""})
    with pytest.raises(ops.OperationError, match="Unknown filter"):
        ops.update_source(db.session, draft, contact_filter={"sql": "1"})
    with pytest.raises(ops.OperationError, match="must be a date"):
        ops.update_source(db.session, draft, contact_filter={"created_since": "last week"})
    with pytest.raises(ops.OperationError, match="number of days"):
        ops.update_source(db.session, draft, contact_filter={"not_called_days": "a while"})
    assert draft.source_filter["city"] == "Lyon"  # refused changes leave the source alone


def test_basics_default_the_end_and_check_the_window(db, draft):
    start = datetime(2026, 3, 10, 18, tzinfo=UTC)
    ops.update_basics(db.session, draft, name=" Phone bank ", description="d", starts_at=start,
                      ends_at=None, window_start=time(10), window_end=time(20),
                      weekdays="40123")
    assert draft.name == "Phone bank" and draft.ends_at == datetime(2026, 4, 10, 18, tzinfo=UTC)
    assert draft.weekdays == "01234"
    for kwargs, message in [
        ({"name": ""}, "needs a name"),
        ({"ends_at": datetime(2026, 3, 1, tzinfo=UTC)}, "end must come after"),
        ({"window_start": time(21), "window_end": time(9)}, "window must end after"),
        ({"weekdays": ""}, "at least one weekday"),
        ({"starts_at": datetime(2026, 3, 10)}, "date and time calling starts"),
    ]:
        args = dict(name="x", description="", starts_at=start, ends_at=None,
                    window_start=time(9), window_end=time(21), weekdays="0")
        args.update(kwargs)
        with pytest.raises(ops.OperationError, match=message):
            ops.update_basics(db.session, draft, **args)
    assert draft.name == "Phone bank"  # a refused change leaves everything as it was


def test_at_least_one_call_method(db, draft):
    ops.update_call_method(db.session, draft, own_phone=False, campaign_line=True)
    assert (draft.allow_own_phone, draft.allow_campaign_line) == (False, True)
    with pytest.raises(ops.OperationError, match="at least one way"):
        ops.update_call_method(db.session, draft, own_phone=False, campaign_line=False)


def test_questionnaire_from_template_and_refused_when_broken(db, draft):
    ops.apply_template(db.session, draft, "survey")
    assert draft.questionnaire["template"] == "survey"
    broken = template("survey")
    broken["questions"][0]["next"] = "q42"
    with pytest.raises(ops.OperationError, match="q42"):
        ops.update_questionnaire(db.session, draft, broken)
    assert draft.questionnaire["questions"][0]["next"] == "q2"


def test_recycling_renames_adds_and_never_retries_removals(db, draft):
    ops.update_recycling(
        db.session, draft, labels={"not_home": "Nobody home", "busy": "Busy"},
        custom=[{"label": "Asked for a letter", "group": "contacted"}],
        retry_rules={"no_answer": {"retries": 3, "interval_minutes": 90},
                     "auto_busy": {"retries": 2, "interval_minutes": 15}},
        leave_message=True, message="Hi, this is the union calling.")
    assert draft.dispositions == {
        "labels": {"not_home": "Nobody home"},
        "custom": [{"code": "custom_asked_for_a_letter", "label": "Asked for a letter",
                    "group": "contacted"}]}
    assert set(draft.retry_rules) == {"no_answer", "auto_busy"}
    assert draft.voicemail_policy["leave_message"] is True
    with pytest.raises(ops.OperationError, match="never retried"):
        ops.update_recycling(db.session, draft, labels={}, custom=[], leave_message=False,
                             message="", retry_rules={"refused": {"retries": 1,
                                                                  "interval_minutes": 5}})
    with pytest.raises(ops.OperationError, match="from 1 to"):
        ops.update_recycling(db.session, draft, labels={}, custom=[], leave_message=False,
                             message="", retry_rules={"busy": {"retries": 0,
                                                               "interval_minutes": 5}})
    with pytest.raises(ops.OperationError, match="group"):
        ops.update_recycling(db.session, draft, labels={}, leave_message=False, message="",
                             custom=[{"label": "X", "group": "nowhere"}], retry_rules={})
    with pytest.raises(ops.OperationError, match="what callers should leave"):
        ops.update_recycling(db.session, draft, labels={}, custom=[], retry_rules={},
                             leave_message=True, message=" ")
    assert set(draft.retry_rules) == {"no_answer", "auto_busy"}


def test_exclusions_and_done_conditions(db, draft):
    db.session.add(CustomField(organization_id=draft.organization_id, key="voted",
                               label="Voted"))
    ops.apply_template(db.session, draft, "mobilize")
    ops.update_exclusions(
        db.session, draft, household_wide=True, cooldown_minutes=60, max_calls_per_person=4,
        rules=[{"kind": "field_equals", "field": "voted", "value": "yes",
                "label": "Already voted"},
               {"kind": "answered", "question": "q1", "answer": "", "label": "Answered"},
               {"kind": "tag", "tag": "staff", "label": "Staff"},
               {"kind": "opted_out", "label": "Opted out"}],
        done_conditions=[{"kind": "answered", "question": "q1", "answer": "yes",
                          "label": "Signed up", "reselect_after_days": 30}])
    assert draft.exclusions["household_wide"] is True
    assert draft.exclusions["rules"][1] == {"kind": "answered", "question": "q1",
                                            "answer": None, "label": "Answered"}
    assert draft.exclusions["done_conditions"][0]["reselect_after_days"] == 30
    assert (draft.cooldown_minutes, draft.max_calls_per_person) == (60, 4)
    bad = [
        ([{"kind": "answered", "question": "q9", "label": "x"}], "question the questionnaire"),
        ([{"kind": "tag", "tag": "", "label": "x"}], "which tag"),
        ([{"kind": "field_equals", "field": "shoe_size", "label": "x"}], "no contact field"),
        ([{"kind": "tag", "tag": "a", "label": ""}], "needs a label"),
        ([{"kind": "weather", "label": "x"}], "Unknown kind"),
    ]
    for rules, message in bad:
        with pytest.raises(ops.OperationError, match=message):
            ops.update_exclusions(db.session, draft, household_wide=False, rules=rules,
                                  done_conditions=[], cooldown_minutes=0,
                                  max_calls_per_person=None)
    with pytest.raises(ops.OperationError, match="cap"):
        ops.update_exclusions(db.session, draft, household_wide=False, rules=[],
                              done_conditions=[], cooldown_minutes=0, max_calls_per_person=0)


def test_members_with_tags_and_at_least_one_owner(db, draft, org_admin, factories):
    org, admin = org_admin
    organizer = factories.organizer(org, admin)
    stranger = factories.phone_user()
    assert organizer.id in {u.id for u in ops.candidate_members(db.session, draft)}
    with pytest.raises(ops.OperationError, match="from your organization"):
        ops.add_member(db.session, draft, admin, user_id=stranger.id, role="agent")
    member = ops.add_member(db.session, draft, admin, user_id=organizer.id, role="agent",
                            prefer_tags="spanish, french", avoid_tags=["hostile-area"])
    assert member.prefer_tags == ["french", "spanish"]
    with pytest.raises(ops.OperationError, match="both preferred and avoided"):
        ops.update_member(db.session, draft, member.id, role="agent", prefer_tags="a",
                          avoid_tags="a")
    owner = next(m for m in draft.members if m.role is OperationRole.OWNER)
    with pytest.raises(ops.OperationError, match="at least one owner"):
        ops.remove_member(db.session, draft, admin, owner.id)
    with pytest.raises(ops.OperationError, match="at least one owner"):
        ops.update_member(db.session, draft, owner.id, role="agent", prefer_tags="",
                          avoid_tags="")
    ops.remove_member(db.session, draft, admin, member.id)
    assert [m.user_id for m in draft.members] == [admin.id]


def test_a_volunteer_from_another_operation_can_be_added(db, draft, org_admin, factories):
    org, admin = org_admin
    volunteer = factories.phone_user()
    other = factories.operation(org, owner=admin)
    other.members.append(OperationMember(user_id=volunteer.id, role=OperationRole.AGENT))
    db.session.commit()
    ops.add_member(db.session, draft, admin, user_id=volunteer.id, role="agent")
    assert volunteer.id in {m.user_id for m in draft.members}


def test_activation_needs_a_ready_operation(db, draft, org_admin):
    _, admin = org_admin
    with pytest.raises(ops.OperationError, match="who to call"):
        ops.activate(db.session, draft, admin)
    assert draft.state is OperationState.DRAFT
    make_ready(db, draft)
    ops.update_mode(db.session, draft, "guided")
    with pytest.raises(ops.OperationError, match="Guided mode needs"):
        ops.activate(db.session, draft, admin)
    ops.apply_template(db.session, draft, "inform")
    ops.activate(db.session, draft, admin)
    assert draft.state is OperationState.ACTIVE
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "operation.activated" in actions


def test_lifecycle_transitions(db, draft, org_admin):
    _, admin = org_admin
    make_ready(db, draft)
    with pytest.raises(ops.OperationError, match="Only an active"):
        ops.pause(db.session, draft, admin)
    with pytest.raises(ops.OperationError, match="Only a paused"):
        ops.resume(db.session, draft, admin)
    ops.activate(db.session, draft, admin)
    with pytest.raises(ops.OperationError, match="Only a draft"):
        ops.activate(db.session, draft, admin)
    ops.pause(db.session, draft, admin)
    assert draft.state is OperationState.PAUSED
    ops.resume(db.session, draft, admin)
    assert draft.state is OperationState.ACTIVE
    ops.end(db.session, draft, admin)
    assert draft.state is OperationState.ENDED
    with pytest.raises(ops.OperationError, match="already ended"):
        ops.end(db.session, draft, admin)
    with pytest.raises(ops.OperationError, match="has ended"):
        ops.update_mode(db.session, draft, "simple")


def test_duplicate_copies_settings_and_members_but_no_targets(db, draft, org_admin, factories):
    org, admin = org_admin
    organizer = factories.organizer(org, admin)
    make_ready(db, draft)
    ops.apply_template(db.session, draft, "mobilize")
    ops.add_member(db.session, draft, admin, user_id=organizer.id, role="agent",
                   prefer_tags="fr")
    ops.activate(db.session, draft, admin)
    person = factories.contact(org)
    if not db.session.scalar(select(Target.id).where(Target.operation_id == draft.id)):
        db.session.add(Target(operation_id=draft.id, contact_id=person.id))
    db.session.commit()
    copy = ops.duplicate(db.session, draft, organizer)
    db.session.commit()
    assert copy.id != draft.id and copy.state is OperationState.DRAFT
    assert copy.name == "Get out the vote (copy)"
    assert copy.questionnaire == draft.questionnaire
    assert copy.source_filter == draft.source_filter
    assert copy.ends_at - copy.starts_at == draft.ends_at - draft.starts_at
    roles = {m.user_id: (m.role, m.prefer_tags) for m in copy.members}
    # whoever duplicates becomes an owner of the copy
    assert roles == {admin.id: (OperationRole.OWNER, []),
                     organizer.id: (OperationRole.OWNER, ["fr"])}
    assert db.session.scalar(select(Target.id).where(Target.operation_id == copy.id)) is None
    copy.questionnaire["questions"].clear()
    assert draft.questionnaire["questions"], "the copy must not share JSON with the original"


def test_only_organizers_and_owners_can_manage(db, draft, org_admin, factories):
    org, admin = org_admin
    organizer = factories.organizer(org, admin)
    agent = factories.phone_user()
    owner = factories.phone_user()
    other_org, other_admin = factories.org_with_admin()
    draft.members.append(OperationMember(user_id=agent.id, role=OperationRole.AGENT))
    draft.members.append(OperationMember(user_id=owner.id, role=OperationRole.OWNER))
    db.session.commit()
    assert ops.can_manage(db.session, draft, admin)
    assert ops.can_manage(db.session, draft, organizer)
    assert ops.can_manage(db.session, draft, owner)
    assert not ops.can_manage(db.session, draft, agent)
    assert not ops.can_manage(db.session, draft, other_admin)
    assert [o.id for o in ops.owned_operations(db.session, owner)] == [draft.id]
