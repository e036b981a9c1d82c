"""What a result does: retries, call-backs, cooldown, cap, done-conditions, exclusions, number
marks, opt-outs, idempotency, late results, edits, provider statuses, agent stats."""

from datetime import timedelta

import pytest

from ringround.extensions import db
from ringround.models import Attempt, Contact, PhoneStatus, Target, TargetState
from ringround.optouts import is_opted_out
from ringround.queue import (
    QueueError,
    ResultIn,
    apply_provider_status,
    blocked_counts,
    edit_result,
    expire_leases,
    lease_next,
    record_result,
    start_attempt,
    stats_for_agent,
)
from tests.core.queue.conftest import NOW

_ids = iter(range(1, 10**6))


def call(op, agent, code, now=NOW, target_id=None, **extra):
    """Lease (unless a target is given) and record `code`; returns the outcome."""
    if target_id is None:
        lease = lease_next(db.session, op, agent, now=now, max_open=0)
        assert lease is not None, "nobody to call"
        target_id = lease.target_id
    outcome = record_result(db.session, ResultIn(
        f"r{next(_ids)}", op.id, target_id, agent.id, code, **extra), now=now)
    db.session.commit()
    return outcome


def target_of(person):
    db.session.expire_all()
    return db.session.query(Target).filter_by(contact_id=person.id).one()


@pytest.fixture
def single(world):
    person = world.contact("Solo")
    op = world.operation([person])
    return person, op, world.agent(operation=op)


def test_no_answer_is_retried_after_its_interval_then_used_up(single):
    person, op, agent = single
    now = NOW
    for _ in range(3):
        outcome = call(op, agent, "no_answer", now=now)
        assert (outcome.target_state, outcome.reason) == ("waiting", "cooldown")
        assert outcome.next_eligible_at == now + timedelta(minutes=90)
        assert lease_next(db.session, op, agent, now=now + timedelta(minutes=89)) is None
        now += timedelta(minutes=91)
    outcome = call(op, agent, "no_answer", now=now)
    assert (outcome.target_state, outcome.reason) == ("done", "attempts_used_up")
    assert target_of(person).attempts == 4
    assert blocked_counts(db.session, op, now=now)["attempts_used_up"] == 1


def test_retries_are_counted_per_disposition(world):
    person = world.contact()
    op = world.operation([person], retry_rules={
        "no_answer": {"retries": 1, "interval_minutes": 10},
        "busy": {"retries": 1, "interval_minutes": 10}})
    agent = world.agent(operation=op)
    assert call(op, agent, "no_answer").target_state == "waiting"
    assert call(op, agent, "busy", now=NOW + timedelta(minutes=11)).target_state == "waiting"
    last = call(op, agent, "busy", now=NOW + timedelta(minutes=22))
    assert (last.target_state, last.reason) == ("done", "attempts_used_up")


def test_a_code_without_a_rule_is_not_retried(world):
    person = world.contact()
    op = world.operation([person], retry_rules={})
    agent = world.agent(operation=op)
    assert call(op, agent, "no_answer").reason == "attempts_used_up"


def test_call_back_at_a_requested_time(single):
    person, op, agent = single
    wanted = NOW + timedelta(days=1, hours=2)
    outcome = call(op, agent, "call_back", callback_at=wanted)
    assert (outcome.reason, outcome.next_eligible_at) == ("call_back_later", wanted)
    assert blocked_counts(db.session, op, now=NOW)["call_back_later"] == 1
    assert lease_next(db.session, op, agent, now=wanted - timedelta(minutes=1)) is None
    assert lease_next(db.session, op, agent, now=wanted) is not None


def test_cooldown_outlasts_a_shorter_retry_interval(world):
    person = world.contact()
    op = world.operation([person], cooldown_minutes=600)
    agent = world.agent(operation=op)
    outcome = call(op, agent, "busy")  # busy retries after 30 minutes by default
    assert outcome.next_eligible_at == NOW + timedelta(minutes=600)


def test_cap_on_calls_per_person(world):
    person = world.contact()
    op = world.operation([person], max_calls_per_person=2)
    agent = world.agent(operation=op)
    assert call(op, agent, "no_answer").target_state == "waiting"
    capped = call(op, agent, "no_answer", now=NOW + timedelta(hours=2))
    assert (capped.target_state, capped.reason) == ("done", "attempts_used_up")


def test_talked_is_done(single):
    person, op, agent = single
    assert call(op, agent, "talked").target_state == "done"
    assert blocked_counts(db.session, op, now=NOW)["done"] == 1


def test_remove_group_is_never_retried_even_with_a_rule(world):
    person = world.contact()
    op = world.operation([person], retry_rules={"refused": {"retries": 5,
                                                            "interval_minutes": 1}})
    agent = world.agent(operation=op)
    outcome = call(op, agent, "refused")
    assert (outcome.target_state, outcome.reason, outcome.group) == (
        "removed", "refused", "remove")


def test_someone_else_answering_counts_as_no_contact(single):
    person, op, agent = single
    outcome = call(op, agent, "someone_else")
    assert (outcome.group, outcome.target_state) == ("no_contact", "waiting")
    assert stats_for_agent(db.session, op.id, agent.id, NOW.date()).people_reached == 0


def test_wrong_number_marks_the_number_for_every_operation(world):
    person = world.contact("Two", phones=2)
    first_op = world.operation([person], name="A")
    second_op = world.operation([person], name="B")
    world.org.call_gap_minutes = 0
    db.session.commit()
    agent = world.agent(operation=first_op)
    world.join(second_op, agent)
    lease = lease_next(db.session, first_op, agent, now=NOW)
    wrong = lease.phone_e164
    outcome = call(first_op, agent, "wrong_number", target_id=lease.target_id,
                   phone_id=lease.phone_id)
    assert outcome.target_state == "removed"
    db.session.expire_all()
    statuses = {p.e164: p.status for p in db.session.get(Contact, person.id).phones}
    assert statuses[wrong] == PhoneStatus.WRONG_NUMBER
    other = lease_next(db.session, second_op, agent, now=NOW)
    assert other is not None and other.phone_e164 != wrong  # the person, on the other number


def test_disconnected_on_the_only_number_leaves_nothing_to_dial(world):
    person = world.contact()
    first_op = world.operation([person], name="A")
    second_op = world.operation([person], name="B")
    world.org.call_gap_minutes = 0
    db.session.commit()
    agent = world.agent(operation=first_op)
    world.join(second_op, agent)
    call(first_op, agent, "disconnected")
    assert lease_next(db.session, second_op, agent, now=NOW) is None
    db.session.commit()
    assert blocked_counts(db.session, second_op, now=NOW)["no_number"] == 1


def test_do_not_call_opts_the_number_out(single):
    person, op, agent = single
    call(op, agent, "do_not_call")
    db.session.expire_all()
    person = db.session.get(Contact, person.id)
    assert person.do_not_contact is True
    assert is_opted_out(db.session, person.organization_id, person.phones[0].e164)


def test_do_not_call_takes_the_person_out_of_every_open_operation(world):
    """A caller's "do not call" is STOP said to the caller: the person's targets leave every
    open operation at once, the one leased to another caller too."""
    person = world.contact("Twice")
    op = world.operation([person])
    other_op = world.operation([person], name="Other")
    third_op = world.operation([person], name="Third")
    agent = world.agent(operation=op)
    other_agent = world.agent(operation=third_op)
    world.org.call_gap_minutes = 0
    db.session.commit()
    assert lease_next(db.session, third_op, other_agent, now=NOW) is not None
    db.session.commit()
    mine = db.session.query(Target).filter_by(operation_id=op.id).one()
    call(op, agent, "do_not_call", target_id=mine.id)
    db.session.expire_all()
    left = db.session.query(Target).filter(Target.operation_id.in_([other_op.id, third_op.id]))
    assert {(t.state, t.reason) for t in left} == {(TargetState.REMOVED, "opted_out")}


def test_answered_exclusion_and_household(world):
    asker = world.contact("Asker", household="7 Oak")
    housemate = world.contact("Housemate", household="7 Oak")
    neighbour = world.contact("Neighbour", household="9 Oak")
    rules = {"household_wide": True, "rules": [
        {"kind": "answered", "question": "moved", "answer": "yes", "label": "Moved away"}]}
    op = world.operation([asker, housemate, neighbour], exclusions=rules)
    agent = world.agent(operation=op)
    target_id = target_of(asker).id
    outcome = call(op, agent, "talked", target_id=target_id, answers={"moved": "Yes"})
    assert (outcome.target_state, outcome.reason) == ("removed", "Moved away")
    assert (target_of(housemate).state, target_of(housemate).reason) == (
        TargetState.REMOVED, "Moved away")
    assert target_of(neighbour).state == TargetState.WAITING


def test_answered_exclusion_without_household_touches_one_target(world):
    asker = world.contact("Asker", household="7 Oak")
    housemate = world.contact("Housemate", household="7 Oak")
    op = world.operation([asker, housemate], exclusions={"rules": [
        {"kind": "answered", "question": "q1", "answer": None, "label": "Answered"}]})
    agent = world.agent(operation=op)
    call(op, agent, "talked", target_id=target_of(asker).id, answers={"q1": "anything"})
    assert target_of(asker).state == TargetState.REMOVED
    assert target_of(housemate).state == TargetState.WAITING


def test_done_condition_retires_and_reselects_after_days(world):
    person = world.contact()
    op = world.operation([person], exclusions={"done_conditions": [
        {"kind": "answered", "question": "signup", "answer": "yes", "label": "Signed up",
         "reselect_after_days": 30}]}, ends_at=NOW + timedelta(days=60))
    agent = world.agent(operation=op)
    outcome = call(op, agent, "talked", answers={"signup": "yes"})
    assert (outcome.target_state, outcome.reason) == ("done", "Signed up")
    expire_leases(db.session, now=NOW + timedelta(days=29))
    db.session.commit()
    assert target_of(person).state == TargetState.DONE
    expire_leases(db.session, now=NOW + timedelta(days=30, minutes=1))
    db.session.commit()
    assert target_of(person).state == TargetState.WAITING
    assert lease_next(db.session, op, agent, now=NOW + timedelta(days=30, minutes=2))


def test_same_client_id_twice_changes_nothing(any_world):
    world = any_world
    person = world.contact()
    op = world.operation([person])
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW)
    result = ResultIn("same-id", op.id, lease.target_id, agent.id, "no_answer")
    first = record_result(db.session, result, now=NOW)
    db.session.commit()
    again = record_result(db.session, result, now=NOW + timedelta(minutes=5))
    db.session.commit()
    assert again.duplicate and not first.duplicate
    assert (again.attempt_id, again.next_eligible_at) == (first.attempt_id, first.next_eligible_at)
    assert target_of(person).attempts == 1
    assert db.session.query(Attempt).count() == 1


def test_a_result_after_the_lease_expired_is_kept(single):
    person, op, agent = single
    lease = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    later = NOW + timedelta(minutes=25)
    expire_leases(db.session, now=later)
    db.session.commit()
    assert target_of(person).state == TargetState.WAITING
    outcome = call(op, agent, "talked", now=later, target_id=lease.target_id)
    assert outcome.late and outcome.target_state == "done"


def test_a_late_result_after_re_lease_leaves_the_new_lease_alone(single, world):
    person, op, agent = single
    old = lease_next(db.session, op, agent, now=NOW)
    db.session.commit()
    later = NOW + timedelta(minutes=30)
    colleague = world.agent(operation=op)
    new = lease_next(db.session, op, colleague, now=later)  # sweeps the expired lease
    db.session.commit()
    assert new.target_id == old.target_id
    outcome = call(op, agent, "no_answer", now=later, target_id=old.target_id)
    assert outcome.late
    target = target_of(person)
    assert (target.state, target.leased_to_id, target.attempts) == (
        TargetState.LEASED, colleague.id, 1)
    # The colleague's own result then counts once more, and resends never double-count.
    result = ResultIn("colleague-1", op.id, new.target_id, colleague.id, "talked")
    record_result(db.session, result, now=later)
    record_result(db.session, result, now=later)
    db.session.commit()
    assert (target_of(person).attempts, target_of(person).state) == (2, TargetState.DONE)


def test_a_late_result_never_reopens_a_finished_target(single):
    person, op, agent = single
    lease = lease_next(db.session, op, agent, now=NOW)
    call(op, agent, "talked", target_id=lease.target_id)
    outcome = call(op, agent, "no_answer", target_id=lease.target_id)
    assert outcome.target_state == "done"


def test_unknown_disposition_or_target_is_refused(single):
    person, op, agent = single
    lease = lease_next(db.session, op, agent, now=NOW)
    with pytest.raises(QueueError) as refused:
        record_result(db.session, ResultIn("x1", op.id, lease.target_id, agent.id, "nope"))
    assert (refused.value.kind, refused.value.params) == ("unknown_disposition", {"code": "nope"})
    with pytest.raises(QueueError) as refused:
        record_result(db.session, ResultIn("x2", op.id, 999999, agent.id, "talked"))
    assert refused.value.kind == "unknown_target"


def test_custom_dispositions_are_accepted_in_their_group(world):
    person = world.contact()
    op = world.operation([person], dispositions={"custom": [
        {"code": "spanish_only", "label": "Spanish speaker", "group": "no_contact"}]},
        retry_rules={"spanish_only": {"retries": 1, "interval_minutes": 5}})
    agent = world.agent(operation=op)
    outcome = call(op, agent, "spanish_only")
    assert (outcome.group, outcome.target_state) == ("no_contact", "waiting")


def test_edit_the_last_result_within_ten_minutes(world):
    person = world.contact()
    other_op = world.operation([world.contact("Other")], name="Other")
    op = world.operation([person])
    agent = world.agent(operation=op)
    del other_op
    lease = lease_next(db.session, op, agent, now=NOW)
    record_result(db.session, ResultIn("e1", op.id, lease.target_id, agent.id, "wrong_number",
                                       phone_id=lease.phone_id), now=NOW)
    db.session.commit()
    outcome = edit_result(db.session, "e1", agent.id, "no_answer",
                          now=NOW + timedelta(minutes=9))
    db.session.commit()
    assert (outcome.target_state, outcome.disposition) == ("waiting", "no_answer")
    target = target_of(person)
    assert (target.attempts, target.retry_counts) == (1, {"no_answer": 1})
    db.session.expire_all()
    assert db.session.get(Contact, person.id).phones[0].status == PhoneStatus.OK
    with pytest.raises(QueueError) as refused:
        edit_result(db.session, "e1", agent.id, "talked", now=NOW + timedelta(minutes=11))
    assert refused.value.kind == "edit_too_late"
    stranger = world.agent()
    with pytest.raises(QueueError) as refused:
        edit_result(db.session, "e1", stranger.id, "talked", now=NOW + timedelta(minutes=1))
    assert refused.value.kind == "not_yours"


def test_provider_status_becomes_an_automatic_disposition(any_world):
    world = any_world
    person = world.contact()
    op = world.operation([person])
    agent = world.agent(operation=op)
    lease = lease_next(db.session, op, agent, now=NOW)
    start_attempt(db.session, "bridge-1", op.id, lease.target_id, agent.id,
                  provider_sid="CA123", now=NOW)
    db.session.commit()
    assert apply_provider_status(db.session, "CA123", "ringing", now=NOW) is None
    outcome = apply_provider_status(db.session, "CA123", "busy", now=NOW)
    db.session.commit()
    assert (outcome.disposition, outcome.target_state) == ("auto_busy", "waiting")
    # A second callback with the same status does not count again.
    assert apply_provider_status(db.session, "CA123", "busy", now=NOW) is None
    db.session.commit()
    assert target_of(person).attempts == 1
    # The caller then records what really happened with the same client id: it replaces it.
    replaced = record_result(db.session, ResultIn("bridge-1", op.id, lease.target_id,
                                                  agent.id, "talked"), now=NOW)
    db.session.commit()
    assert (replaced.disposition, replaced.target_state) == ("talked", "done")
    assert target_of(person).attempts == 1


def test_answering_machine_maps_to_auto_voicemail(single):
    person, op, agent = single
    lease = lease_next(db.session, op, agent, now=NOW)
    attempt = start_attempt(db.session, "bridge-2", op.id, lease.target_id, agent.id,
                            provider_sid="CA999", now=NOW)
    outcome = apply_provider_status(db.session, attempt, "machine_start", now=NOW)
    assert outcome.disposition == "auto_voicemail"


def test_agent_stats_for_the_day(single, world):
    person, op, agent = single
    other = world.contact("Other")
    from ringround.queue import materialize_targets

    materialize_targets(db.session, op, [other.id], now=NOW)
    db.session.commit()
    call(op, agent, "talked")
    call(op, agent, "no_answer")
    stats = stats_for_agent(db.session, op.id, agent.id, NOW.date())
    assert (stats.calls, stats.people_reached) == (2, 1)
    assert stats_for_agent(db.session, op.id, agent.id, NOW.date() - timedelta(days=1)).calls == 0


def test_field_updates_reach_the_contact_except_never_editable_ones(world):
    from ringround.models import CustomField

    db.session.add(CustomField(organization_id=world.org.id, key="donations", label="Donations",
                               never_editable=True))
    db.session.commit()
    person = world.contact(custom={"donations": 50})
    op = world.operation([person])
    agent = world.agent(operation=op)
    call(op, agent, "talked", field_updates={
        "email": "maria@example.org", "language": "es", "donations": 5000,
        "date_of_birth": "1990-01-01", "shirt_size": "M", "do_not_contact": True})
    db.session.expire_all()
    person = db.session.get(Contact, person.id)
    assert (person.email, person.language) == ("maria@example.org", "es")
    assert person.custom == {"donations": 50, "shirt_size": "M"}
    assert person.date_of_birth is None and person.do_not_contact is False


def test_field_updates_follow_the_import_rules_and_keep_what_was_typed(world):
    """A caller's edit is cleaned as an import or an organizer's edit is (one rule): a bad
    email or language leaves the contact as it was, a number field takes "3,5" as 3.5; what
    the caller typed stays on the result for the organizers either way."""
    from ringround.models import Attempt, CustomField, CustomFieldType

    db.session.add(CustomField(organization_id=world.org.id, key="visits", label="Visits",
                               type=CustomFieldType.NUMBER))
    db.session.commit()
    person = world.contact(email="old@example.org", language="fr", first_name="Ana")
    op = world.operation([person])
    agent = world.agent(operation=op)
    typed = {"email": "not an email", "language": "Klingon!!", "first_name": "  Ana   Maria ",
             "visits": "3,5", "city": "x" * 300}
    outcome = call(op, agent, "talked", field_updates=typed)
    db.session.expire_all()
    person = db.session.get(Contact, person.id)
    assert (person.email, person.language, person.first_name) == (
        "old@example.org", "fr", "Ana Maria")
    assert person.custom["visits"] == 3.5 and person.city == "x" * 120
    assert db.session.get(Attempt, outcome.attempt_id).field_updates == typed
    call(op, agent, "talked", target_id=target_of(person).id, field_updates={"visits": "many"})
    db.session.expire_all()
    assert db.session.get(Contact, person.id).custom["visits"] == 3.5
