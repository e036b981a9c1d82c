"""`flask operations …` and `flask demo`: every command, its output and its exit code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ringround import operations as ops
from ringround.models import AuditEntry, Operation, OperationState, Organization, Tag, Target
from ringround.people.filters import save_list


@pytest.fixture
def setup(db, factories):
    """An organization with two tagged contacts and a draft that has no source yet."""
    org, admin = factories.org_with_admin()
    supporter = Tag(organization_id=org.id, name="supporter")
    for name in ("Ada", "Bo"):
        person = factories.contact(org, name)
        person.tags.append(supporter)
    factories.contact(org, "Cy")
    draft = ops.create_draft(db.session, org.id, admin, "Get out the vote")
    db.session.commit()
    return org, draft


def run(runner, *args, **kwargs):
    return runner.invoke(args=["operations", *args], **kwargs)


def test_list_and_show(runner, db, setup, factories):
    org, draft = setup
    other, other_admin = factories.org_with_admin()
    ops.create_draft(db.session, other.id, other_admin, "Not theirs")
    db.session.commit()
    result = run(runner, "list", "--org", org.slug)
    assert result.exit_code == 0, result.output
    assert result.output == f"{draft.id}\tdraft\tGet out the vote\n"
    assert run(runner, "list", "--org", org.slug, "--state", "active").stdout == ""

    result = run(runner, "show", str(draft.id), "--org", org.slug)
    assert result.exit_code == 0, result.output
    assert f"Operation #{draft.id}: Get out the vote" in result.output
    assert "State: draft" in result.output and "Source: none yet" in result.output
    assert "Before it can be activated: Choose who to call" in result.output


def test_unknown_organization_or_operation_is_a_clear_error(runner, setup, factories):
    org, draft = setup
    other, _ = factories.org_with_admin()
    result = run(runner, "show", "999", "--org", org.slug)
    assert result.exit_code == 1
    assert f"No operation #999 in organization '{org.slug}'" in result.output
    result = run(runner, "activate", str(draft.id), "--org", other.slug)  # not theirs
    assert result.exit_code == 1 and f"No operation #{draft.id}" in result.output
    result = run(runner, "list", "--org", "nope")
    assert result.exit_code == 1 and "No organization with slug 'nope'" in result.output


def test_source_by_tag_or_saved_list(runner, db, setup):
    org, draft = setup
    result = run(runner, "source", str(draft.id), "--org", org.slug, "--tag", "supporter")
    assert result.exit_code == 0, result.output
    assert "(2 contacts match)" in result.output
    db.session.expire_all()
    assert draft.source_filter == {"tags_any": ["supporter"]}

    save_list(db.session, org.id, "Supporters", {"tags_any": ["supporter"]})
    db.session.commit()
    result = run(runner, "source", str(draft.id), "--org", org.slug, "--list", "Supporters")
    assert result.exit_code == 0, result.output
    assert "calls: list 'Supporters' (2 contacts match)" in result.output
    result = run(runner, "source", str(draft.id), "--org", org.slug, "--list", "Nobody")
    assert result.exit_code == 1 and "No saved list named 'Nobody'" in result.output
    result = run(runner, "source", str(draft.id), "--org", org.slug)
    assert result.exit_code == 2 and "Give either --list NAME or --tag TAG" in result.output


def test_lifecycle_from_draft_to_ended_with_wrong_states_refused(runner, db, setup):
    org, draft = setup
    op_id = str(draft.id)
    result = run(runner, "activate", op_id, "--org", org.slug)
    assert result.exit_code == 1
    assert "is draft: Choose who to call" in result.output
    result = run(runner, "pause", op_id, "--org", org.slug)
    assert result.exit_code == 1 and "Only an active operation can be paused" in result.output

    run(runner, "source", op_id, "--org", org.slug, "--tag", "supporter")
    result = run(runner, "activate", op_id, "--org", org.slug)
    assert result.exit_code == 0, result.output
    assert result.output == f"Operation #{op_id} activated (now active, 2 people to call).\n"
    assert db.session.scalar(select(Target.id).where(Target.operation_id == draft.id))
    assert run(runner, "activate", op_id, "--org", org.slug).exit_code == 1

    assert run(runner, "pause", op_id, "--org", org.slug).output == \
        f"Operation #{op_id} paused (now paused).\n"
    assert run(runner, "resume", op_id, "--org", org.slug).exit_code == 0
    result = run(runner, "end", op_id, "--org", org.slug, input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    result = run(runner, "end", op_id, "--org", org.slug, "--yes")
    assert result.exit_code == 0 and "ended (now ended)" in result.output
    db.session.expire_all()
    assert draft.state is OperationState.ENDED
    result = run(runner, "end", op_id, "--org", org.slug, "--yes")
    assert result.exit_code == 1 and "already ended" in result.output
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject_id == draft.id, AuditEntry.actor_id.is_(None))).all()
    assert {"operation.activated", "operation.paused", "operation.resumed",
            "operation.ended"} <= set(actions)


def test_demo_prints_the_operation_id_sign_in_and_links(runner, db):
    result = runner.invoke(args=["demo", "--contacts", "3", "--base-url", "https://rr.example"])
    assert result.exit_code == 0, result.output
    op_id = db.session.scalar(select(Operation.id))
    assert f"Operation #{op_id}: Get out the vote (draft)" in result.output
    assert ("Sign in as demo@example.org / demo-password at https://rr.example/login"
            in result.output)
    assert f"dashboard: https://rr.example/console/operations/{op_id}" in result.output
    assert "Join link for callers (open it on a phone): https://rr.example/j/" in result.output


def test_the_demo_operation_can_be_activated_at_once_and_calls_every_demo_contact(runner, db):
    assert runner.invoke(args=["demo", "--contacts", "5"]).exit_code == 0
    op_id = db.session.scalar(select(Operation.id))
    org = db.session.scalar(select(Organization))
    result = runner.invoke(args=["operations", "activate", str(op_id), "--org", org.slug])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["operations", "show", str(op_id), "--org", org.slug]).output
    assert "State: active" in shown and "waiting 5" in shown
