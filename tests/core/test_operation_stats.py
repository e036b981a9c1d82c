"""Dashboard figures, the organization overview and the audited results export."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ringround import operations as ops
from ringround.extensions import db
from ringround.models import (
    Attempt,
    AuditEntry,
    DispositionGroup,
    Target,
    TargetState,
)
from ringround.operation_stats import (
    operation_figures,
    organization_progress,
    results_csv,
    start_of_day,
)
from tests import factories

NOW = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def world(any_app):
    """The same data on SQLite and PostgreSQL (answers are tallied inside the database)."""
    org, admin = factories.org_with_admin()
    org.time_zone = "Europe/Paris"
    op = ops.create_draft(db.session, org.id, admin, "Survey")
    ops.apply_template(db.session, op, "survey")
    agent_a, agent_b = factories.phone_user("Ada"), factories.phone_user("Bo")
    people = [factories.contact(org, first_name=f"P{i}") for i in range(4)]
    states = [TargetState.DONE, TargetState.REMOVED, TargetState.WAITING, TargetState.WAITING]
    targets = [Target(operation_id=op.id, contact_id=p.id, state=s)
               for p, s in zip(people, states, strict=True)]
    db.session.add_all(targets)
    db.session.flush()

    def call(n, agent, person, target, code, group, answers, when):
        db.session.add(Attempt(
            client_id=f"c{n}", operation_id=op.id, target_id=target.id, contact_id=person.id,
            agent_id=agent.id, disposition=code, disposition_group=group, answers=answers,
            created_at=when, recorded_at=when, notes="=cmd()" if n == 1 else None))

    yesterday = NOW - timedelta(days=1)
    call(1, agent_a, people[0], targets[0], "talked", DispositionGroup.CONTACTED,
         {"q1": 5, "q2": "housing", "q3": "more buses"}, NOW - timedelta(hours=1))
    call(2, agent_a, people[1], targets[1], "refused", DispositionGroup.REMOVE, {}, yesterday)
    call(3, agent_b, people[2], targets[2], "talked", DispositionGroup.CONTACTED,
         {"q1": 3, "q2": "housing"}, yesterday)
    call(4, agent_b, people[2], targets[2], "no_answer", DispositionGroup.NO_CONTACT, {},
         NOW - timedelta(hours=2))
    db.session.add(Attempt(client_id="pending", operation_id=op.id, contact_id=people[3].id,
                           agent_id=agent_b.id, created_at=NOW))  # leased, no result yet
    db.session.commit()
    return org, admin, op, agent_a, agent_b


def test_today_starts_at_midnight_in_the_organizations_zone(world):
    org = world[0]
    assert start_of_day(org, NOW) == datetime(2026, 5, 19, 22, 0, tzinfo=UTC)


def test_operation_figures(world):
    _, _, op, agent_a, agent_b = world
    figures = operation_figures(db.session, op, now=NOW)
    assert (figures.targets, figures.done, figures.removed) == (4, 1, 1)
    assert figures.by_state["waiting"] == 2
    assert figures.progress == 50
    assert (figures.calls_total, figures.calls_today) == (4, 2)
    assert (figures.reached_total, figures.reached_today) == (2, 1)
    agents = {a["name"]: (a["calls"], a["reached"]) for a in figures.agents}
    assert agents == {agent_a.display_name: (2, 1), agent_b.display_name: (2, 1)}
    tallies = {t["id"]: t for t in figures.tallies}
    assert dict(tallies["q2"]["items"])["Housing"] == 2
    assert dict(tallies["q1"]["items"]) == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert tallies["q3"]["answered"] == 1 and tallies["q3"]["items"] == []


def test_organization_progress(world):
    org, admin, op, _, _ = world
    empty = ops.create_draft(db.session, org.id, admin, "Empty")
    db.session.commit()
    rows = {r["operation"].id: r for r in organization_progress(db.session, org.id)}
    assert rows[op.id]["targets"] == 4 and rows[op.id]["finished"] == 2
    assert rows[op.id]["progress"] == 50 and rows[op.id]["calls"] == 4
    assert rows[empty.id]["progress"] == 0
    other, _ = factories.org_with_admin()
    assert organization_progress(db.session, other.id) == []


def test_results_csv_has_one_column_per_question_and_is_audited(world):
    _, admin, op, _, _ = world
    text = results_csv(db.session, op, admin)
    db.session.commit()
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:10] == ["call_id", "recorded_at", "agent", "contact_id", "first_name",
                           "last_name", "phone", "extension", "disposition", "group"]
    assert header[10].startswith("q1: ") and header[-1] == "notes"
    assert len(rows) == 5  # four recorded calls; the pending one is not a result
    assert [r[8] for r in rows[1:]] == ["Refused", "Talked to them", "No answer",
                                        "Talked to them"]  # oldest first
    first = rows[4]
    assert first[1] == (NOW - timedelta(hours=1)).isoformat()  # UTC, with its offset
    assert first[8] == "Talked to them" and first[10:13] == ["5", "housing",
                                                                       "more buses"]
    assert first[-1] == "'=cmd()"  # no formula injection into spreadsheets
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "operation.results_exported"))
    assert entry.actor_id == admin.id and entry.subject_id == op.id
    assert entry.details == {"rows": 4}


def test_call_figures_may_be_reused_for_a_while_but_targets_stay_live(world):
    _, _, op, agent_a, _ = world
    first = operation_figures(db.session, op, now=NOW, max_age=60)
    db.session.add(Attempt(client_id="late", operation_id=op.id, agent_id=agent_a.id,
                           disposition="busy", disposition_group=DispositionGroup.NO_CONTACT,
                           created_at=NOW))
    db.session.add(Target(operation_id=op.id, contact_id=None))
    db.session.commit()
    cached = operation_figures(db.session, op, now=NOW, max_age=60)
    assert cached.calls_total == first.calls_total == 4
    assert cached.targets == first.targets + 1
    assert operation_figures(db.session, op, now=NOW).calls_total == 5
