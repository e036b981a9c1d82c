"""Who may be leased: windows in each contact's time zone, dates, opt-outs, numbers, own record,
order, tags, the cross-operation gap, exclusions."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from ringround.extensions import db
from ringround.models import LeaseGrant, OperationState, OptOut, PhoneStatus, Target, TargetState
from ringround.optouts import opt_out_number
from ringround.queue import (
    ResultIn,
    blocked_counts,
    lease_batch,
    lease_next,
    next_callable_at,
    record_result,
)
from tests.core.queue.conftest import NOW


def lease_all(op, agent, now=NOW):
    leases = lease_batch(db.session, op, agent, 50, now=now)
    db.session.commit()
    return leases


def names_of(leases):
    from ringround.models import Contact

    return sorted(db.session.get(Contact, lease.contact_id).first_name for lease in leases)


def test_window_is_applied_in_each_contacts_own_time_zone(world):
    ny = world.contact("NewYork", "America/New_York")
    la = world.contact("LosAngeles", "America/Los_Angeles")
    paris = world.contact("Paris", "Europe/Paris")
    op = world.operation([ny, la, paris])
    agent = world.agent(operation=op)
    # 15:00 UTC: 11:00 in New York, 08:00 in Los Angeles (too early), 16:00 in Paris.
    at_three = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    counts = blocked_counts(db.session, op, now=at_three)
    assert counts["ready"] == 2 and counts["outside_hours"] == 1
    assert names_of(lease_all(op, agent, at_three)) == ["NewYork", "Paris"]


def test_late_evening_utc_leaves_only_the_americas(world):
    people = [world.contact("NewYork", "America/New_York"),
              world.contact("LosAngeles", "America/Los_Angeles"),
              world.contact("Paris", "Europe/Paris")]
    op = world.operation(people)
    agent = world.agent(operation=op)
    # 21:30 UTC: 17:30 New York, 14:30 Los Angeles, 22:30 Paris (too late).
    assert names_of(lease_all(op, agent, datetime(2026, 3, 17, 21, 30, tzinfo=UTC))) == [
        "LosAngeles", "NewYork"]


def test_weekdays_are_local_weekdays(world):
    paris = world.contact("Paris", "Europe/Paris")
    la = world.contact("LosAngeles", "America/Los_Angeles")
    op = world.operation([paris, la], weekdays="01234", window_start=time(0, 0),
                         window_end=time(23, 59))
    agent = world.agent(operation=op)
    # Saturday 02:00 UTC: Saturday 03:00 in Paris, still Friday 19:00 in Los Angeles.
    saturday = datetime(2026, 3, 21, 2, 0, tzinfo=UTC)
    assert names_of(lease_all(op, agent, saturday)) == ["LosAngeles"]


def test_overnight_window_belongs_to_the_day_it_starts(world):
    person = world.contact("NewYork", "America/New_York")
    op = world.operation([person], window_start=time(18, 0), window_end=time(2, 0),
                         weekdays="4")  # Friday evenings only
    agent = world.agent(operation=op)
    saturday_1am_ny = datetime(2026, 3, 21, 5, 0, tzinfo=UTC)
    saturday_3am_ny = datetime(2026, 3, 21, 7, 0, tzinfo=UTC)
    assert lease_all(op, agent, saturday_3am_ny) == []
    assert len(lease_all(op, agent, saturday_1am_ny)) == 1


def test_operation_must_be_active_and_within_its_dates(world):
    person = world.contact()
    op = world.operation([person], state=OperationState.PAUSED)
    agent = world.agent(operation=op)
    assert lease_next(db.session, op, agent, now=NOW) is None
    op.state = OperationState.ACTIVE
    op.starts_at = NOW + timedelta(hours=1)
    db.session.commit()
    assert lease_next(db.session, op, agent, now=NOW) is None
    op.starts_at, op.ends_at = NOW - timedelta(days=2), NOW - timedelta(minutes=1)
    db.session.commit()
    assert lease_next(db.session, op, agent, now=NOW) is None
    op.ends_at = NOW + timedelta(days=1)
    db.session.commit()
    assert lease_next(db.session, op, agent, now=NOW) is not None


def test_next_callable_at_names_the_next_window_opening(world):
    la = world.contact("LosAngeles", "America/Los_Angeles")
    op = world.operation([la])
    # 15:00 UTC is 08:00 in Los Angeles: the window opens at 09:00 there, 16:00 UTC.
    at_three = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    assert next_callable_at(db.session, op, now=at_three) == datetime(2026, 3, 17, 16, 0,
                                                                        tzinfo=UTC)
    assert next_callable_at(db.session, op, now=NOW) == NOW


def test_a_contact_who_opted_out_is_not_leased(any_world):
    world = any_world
    keen = world.contact("Keen")
    gone = world.contact("Gone", do_not_contact=True)
    op = world.operation([keen, gone])
    agent = world.agent(operation=op)
    assert names_of(lease_all(op, agent)) == ["Keen"]
    assert blocked_counts(db.session, op, now=NOW)["opted_out"] == 1


def test_an_opted_out_number_is_skipped_for_the_next_one(world):
    person = world.contact("Two", phones=2)
    single = world.contact("One")
    first, second = person.phones
    opt_out_number(db.session, world.org.id, first.e164, "sms_stop")
    opt_out_number(db.session, world.org.id, single.phones[0].e164, "sms_stop")
    db.session.commit()
    op = world.operation([person, single])
    agent = world.agent(operation=op)
    leases = lease_all(op, agent)
    assert [lease.phone_e164 for lease in leases] == [second.e164]
    assert db.session.query(OptOut).count() == 2
    assert blocked_counts(db.session, op, now=NOW)["opted_out"] == 1


def test_targets_without_a_callable_number_wait(world):
    marked = world.contact("Marked")
    marked.phones[0].status = PhoneStatus.WRONG_NUMBER
    nothing = world.contact("Nothing", phones=0)
    db.session.commit()
    op = world.operation([marked, nothing, world.contact("Fine")])
    agent = world.agent(operation=op)
    assert names_of(lease_all(op, agent)) == ["Fine"]
    assert blocked_counts(db.session, op, now=NOW)["no_number"] == 2


def test_an_agent_never_gets_their_own_record(any_world):
    world = any_world
    agent = world.agent(phone="+14155550100")
    own_by_user = world.contact("Me", user_id=agent.id)
    own_by_phone = world.contact("MyPhone")
    own_by_phone.phones[0].e164 = "+14155550100"
    db.session.commit()
    other = world.contact("Other")
    op = world.operation([own_by_user, own_by_phone, other])
    world.join(op, agent)
    assert names_of(lease_all(op, agent)) == ["Other"]
    colleague = world.agent(operation=op)
    assert names_of(lease_all(op, colleague)) == ["Me", "MyPhone"]


def test_order_is_fewest_attempts_then_longest_since_last_attempt(world):
    people = [world.contact(name) for name in ("Twice", "OnceLongAgo", "OnceRecently", "Never")]
    op = world.operation(people)
    agent = world.agent(operation=op)
    by_name = {t.contact_id: t for t in db.session.query(Target).all()}
    setup = {"Twice": (2, 10), "OnceLongAgo": (1, 300), "OnceRecently": (1, 100),
             "Never": (0, None)}
    for person in people:
        attempts, minutes_ago = setup[person.first_name]
        target = by_name[person.id]
        target.attempts = attempts
        target.last_attempt_at = NOW - timedelta(minutes=minutes_ago) if minutes_ago else None
    db.session.commit()
    order = []
    for _ in people:
        lease = lease_next(db.session, op, agent, now=NOW, max_open=0)
        db.session.commit()
        order.append(names_of([lease])[0])
    assert order == ["Never", "OnceLongAgo", "OnceRecently", "Twice"]


def test_prefer_tags_come_first_and_avoid_tags_never(any_world):
    world = any_world
    plain = [world.contact(f"Plain{i}") for i in range(3)]
    spanish = world.contact("Spanish", tags=["es"])
    hostile = world.contact("Avoided", tags=["avoid-me"])
    op = world.operation([*plain, spanish, hostile])
    agent = world.agent(operation=op, prefer=["es"], avoid=["avoid-me"])
    first = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    assert names_of([first]) == ["Spanish"]
    rest = lease_all(op, agent)
    assert "Avoided" not in names_of(rest) and len(rest) == 3


def test_one_organization_never_calls_a_person_twice_within_the_gap(any_world):
    world = any_world
    person = world.contact("Shared")
    first_op = world.operation([person], name="First")
    second_op = world.operation([person], name="Second")
    agent = world.agent(operation=first_op)
    world.join(second_op, agent)
    lease = lease_next(db.session, first_op, agent, now=NOW)
    db.session.commit()
    # While someone holds them in the first operation, the second does not offer them.
    assert lease_next(db.session, second_op, agent, now=NOW) is None
    db.session.commit()
    record_result(db.session, ResultIn("gap-1", first_op.id, lease.target_id, agent.id,
                                       "no_answer"), now=NOW)
    db.session.commit()
    assert lease_next(db.session, second_op, agent, now=NOW + timedelta(hours=23)) is None
    db.session.commit()
    counts = blocked_counts(db.session, second_op, now=NOW + timedelta(hours=23))
    assert counts["called_recently"] == 1
    assert lease_next(db.session, second_op, agent, now=NOW + timedelta(hours=24, minutes=1))


def test_gap_is_an_organization_setting(world):
    person = world.contact("Shared")
    world.org.call_gap_minutes = 60
    db.session.commit()
    first_op = world.operation([person], name="First")
    second_op = world.operation([person], name="Second")
    agent = world.agent(operation=first_op)
    world.join(second_op, agent)
    lease = lease_next(db.session, first_op, agent, now=NOW)
    record_result(db.session, ResultIn("gap-2", first_op.id, lease.target_id, agent.id,
                                       "talked"), now=NOW)
    db.session.commit()
    assert lease_next(db.session, second_op, agent, now=NOW + timedelta(minutes=59)) is None
    assert lease_next(db.session, second_op, agent, now=NOW + timedelta(minutes=61))


def test_field_exclusion_removes_with_its_label(world):
    voted = world.contact("Voted", custom={"voted": "yes"})
    other = world.contact("NotYet", custom={"voted": "no"})
    op = world.operation([voted, other], exclusions={"rules": [
        {"kind": "field_equals", "field": "voted", "value": "yes", "label": "Already voted"}]})
    agent = world.agent(operation=op)
    assert names_of(lease_all(op, agent)) == ["NotYet"]
    target = db.session.query(Target).filter_by(contact_id=voted.id).one()
    assert (target.state, target.reason) == (TargetState.REMOVED, "Already voted")


def test_tag_exclusion_household_wide_or_not(world):
    tagged = world.contact("Tagged", tags=["volunteer"], household="12 Elm St")
    housemate = world.contact("Housemate", household="12 Elm St")
    rules = {"rules": [{"kind": "tag", "tag": "volunteer", "label": "Volunteers"}]}
    op = world.operation([tagged, housemate], exclusions=rules)
    agent = world.agent(operation=op)
    assert names_of(lease_all(op, agent)) == ["Housemate"]
    wide = world.operation([tagged, housemate], exclusions={**rules, "household_wide": True},
                           name="Wide")
    world.join(wide, agent)
    assert lease_all(wide, agent) == []
    assert blocked_counts(db.session, wide, now=NOW)["removed"] == 2


def test_opted_out_exclusion_removes_instead_of_holding(world):
    gone = world.contact("Gone", do_not_contact=True)
    op = world.operation([gone], exclusions={"rules": [
        {"kind": "opted_out", "label": "Opted out"}]})
    agent = world.agent(operation=op)
    assert lease_all(op, agent) == []
    target = db.session.query(Target).one()
    assert (target.state, target.reason) == (TargetState.REMOVED, "Opted out")


def test_prefer_tags_shared_by_many_look_a_window_ahead(any_world, monkeypatch):
    from ringround.queue import candidates

    world = any_world
    monkeypatch.setattr(candidates, "PREFER_WINDOW", 3)
    monkeypatch.setattr(candidates, "_tag_counts", {})
    people = [world.contact(f"P{i}", tags=["es"] if i in (2, 3, 4, 5) else [])
              for i in range(8)]
    op = world.operation(people)
    agent = world.agent(operation=op, prefer=["es"])
    order = []
    for _ in range(4):
        lease = lease_next(db.session, op, agent, now=NOW, max_open=0)
        db.session.commit()
        order.append(names_of([lease])[0])
    # Many carry the tag (more than the window): tagged people among the next three first.
    assert order == ["P2", "P3", "P4", "P5"]


def test_lease_next_checks_opt_outs_too(any_world):
    world = any_world
    single = world.contact("One")
    person = world.contact("Two", phones=2)
    opt_out_number(db.session, world.org.id, single.phones[0].e164, "sms_stop")
    opt_out_number(db.session, world.org.id, person.phones[0].e164, "sms_stop")
    db.session.commit()
    op = world.operation([single, person])
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW, max_open=0)
    db.session.commit()
    assert (lease.contact_id, lease.phone_e164) == (person.id, person.phones[1].e164)
    # One grant, for the lease given: none for the target whose number had opted out (on
    # PostgreSQL the lease and its grant are one statement).
    assert db.session.execute(select(LeaseGrant.target_id, LeaseGrant.agent_id)).all() == [
        (lease.target_id, agent.id)]
    assert lease_next(db.session, op, agent, now=NOW, max_open=0) is None
    db.session.commit()
    assert blocked_counts(db.session, op, now=NOW)["opted_out"] == 1
