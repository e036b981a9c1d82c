"""`flask --app wsgi operations …`: list, show, choose the source of, activate, pause, resume
and end call operations, through the same core functions as the console's wizard."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ringround import operations
from ringround.extensions import db
from ringround.models import Operation, OperationState, SavedList
from ringround.operation_stats import target_counts
from ringround.people.cli import organization_by_slug
from ringround.people.filters import list_by_name

operations_cli = AppGroup("operations", help="List, set up and run call operations.")
org_option = click.option("--org", "slug", required=True, help="The organization's slug.")


def _operation(slug: str, op_id: int) -> Operation:
    org = organization_by_slug(slug)
    operation = db.session.get(Operation, op_id)
    if operation is None or operation.organization_id != org.id:
        raise click.ClickException(f"No operation #{op_id} in organization {slug!r} "
                                   f"(see: flask operations list --org {slug}).")
    return operation


def _source(operation: Operation) -> str:
    if operation.source_list_id is not None:
        saved = db.session.get(SavedList, operation.source_list_id)
        return f"list {saved.name!r}" if saved else "a deleted list"
    if operation.source_filter:
        return "filter " + "; ".join(
            f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in operation.source_filter.items())
    return "none yet"


@operations_cli.command("list")
@org_option
@click.option("--state", type=click.Choice([s.value for s in OperationState]), default=None,
              help="Only operations in this state.")
def list_command(slug: str, state: str | None) -> None:
    """One line per operation: id, state, name."""
    org = organization_by_slug(slug)
    query = select(Operation).where(Operation.organization_id == org.id).order_by(Operation.id)
    if state:
        query = query.where(Operation.state == OperationState(state))
    found = db.session.scalars(query).all()
    for operation in found:
        click.echo(f"{operation.id}\t{operation.state.value}\t{operation.name}")
    if not found:
        click.echo("No operations.", err=True)


@operations_cli.command("show")
@click.argument("op_id", type=int, metavar="ID")
@org_option
def show_command(op_id: int, slug: str) -> None:
    """An operation's state, dates, source, targets and what stops it from starting."""
    operation = _operation(slug, op_id)
    matching = operations.matching_count(db.session, operation)
    counts = target_counts(db.session, operation.id)
    click.echo(f"Operation #{operation.id}: {operation.name}")
    click.echo(f"State: {operation.state.value}")
    click.echo(f"Dates: {operation.starts_at:%Y-%m-%d %H:%M} to "
               f"{operation.ends_at:%Y-%m-%d %H:%M} (UTC)" if operation.starts_at
               and operation.ends_at else "Dates: not set")
    click.echo(f"Calling hours: {operation.window_start:%H:%M}-{operation.window_end:%H:%M}")
    click.echo(f"Source: {_source(operation)}"
               + (f" ({matching} contacts match)" if matching is not None else ""))
    click.echo("Targets: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
    if operation.state is OperationState.DRAFT:
        problems = operations.readiness_problems(db.session, operation)
        click.echo("Ready to activate." if not problems
                   else "Before it can be activated: " + " ".join(problems))


@operations_cli.command("source")
@click.argument("op_id", type=int, metavar="ID")
@org_option
@click.option("--list", "list_name", default=None, help="Call the contacts of this saved list.")
@click.option("--tag", "tags", multiple=True,
              help="Call contacts with this tag (repeat: any of the tags).")
def source_command(op_id: int, slug: str, list_name: str | None, tags: tuple[str, ...]) -> None:
    """Choose who operation ID calls: a saved list, or the contacts with some tags."""
    operation = _operation(slug, op_id)
    if bool(list_name) == bool(tags):
        raise click.UsageError("Give either --list NAME or --tag TAG (one or more).")
    try:
        if list_name:
            saved = list_by_name(db.session, operation.organization_id, list_name)
            if saved is None:
                raise click.ClickException(f"No saved list named {list_name!r}.")
            operations.update_source(db.session, operation, list_id=saved.id)
        else:
            operations.update_source(db.session, operation,
                                     contact_filter={"tags_any": list(tags)})
    except operations.OperationError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    matching = operations.matching_count(db.session, operation)
    db.session.commit()
    click.echo(f"Operation #{operation.id} calls: {_source(operation)} "
               f"({matching or 0} contacts match).")


def _lifecycle(name: str, verb: str, help_text: str, *, confirm: bool = False) -> None:
    """A command that moves an operation from one state to the next (`operations.<name>`);
    with `confirm`, it asks first (unless --yes)."""

    def command(op_id: int, slug: str, yes: bool = True) -> None:
        operation = _operation(slug, op_id)
        if not yes:
            click.confirm(f"{name.capitalize()} operation #{op_id} ({operation.name})? "
                          "This cannot be undone.", abort=True)
        try:
            result = getattr(operations, name)(db.session, operation, None)
        except operations.OperationError as error:
            db.session.rollback()
            raise click.ClickException(
                f"Operation #{op_id} is {operation.state.value}: {error}") from error
        db.session.commit()
        added = f", {result} people to call" if name == "activate" and result is not None \
            else ""
        click.echo(f"Operation #{operation.id} {verb} (now {operation.state.value}{added}).")

    if confirm:
        command = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(
            command)
    command = org_option(click.argument("op_id", type=int, metavar="ID")(command))
    operations_cli.command(name, help=help_text)(command)


_lifecycle("activate", "activated", "Start operation ID (a draft that is ready): callers "
           "get people to call.")
_lifecycle("pause", "paused", "Stop handing out people to call for now (results still "
           "arrive).")
_lifecycle("resume", "resumed", "Hand out people to call again after a pause.")
_lifecycle("end", "ended", "Finish operation ID for good (results stay).", confirm=True)
