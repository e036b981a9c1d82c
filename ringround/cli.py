"""`flask --app wsgi …` commands: accounts for scripted installs, demo data."""

from __future__ import annotations

import click
from flask import Flask, current_app, url_for
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import inspect

from ringround.accounts import AccountError, create_organization, create_password_user
from ringround.audit_cli import audit_cli
from ringround.backup_cli import backup_cli
from ringround.demo import build_demo
from ringround.extensions import db
from ringround.i18n import SUPPORTED_LOCALES
from ringround.operation_cli import operations_cli
from ringround.people.cli import contacts_cli
from ringround.worker_cli import worker

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create-admin")
@click.option("--email", required=True, help="The admin's email (their sign-in).")
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--org", "org_name", required=True, help="Name of the organization to create.")
@click.option("--name", "display_name", default=None, help="The admin's display name.")
def create_admin(email: str, password: str, org_name: str, display_name: str | None) -> None:
    """Create an organization and its admin account (an instance administrator), no prompts."""
    try:
        user = create_password_user(
            db.session, email=email, password=password, display_name=display_name
        )
        user.is_instance_admin = True
        org = create_organization(db.session, name=org_name, admin=user)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created organization '{org.name}' (slug: {org.slug}) with admin {user.email}.")


@click.command("demo")
@click.option("--email", default="demo@example.org", show_default=True)
@click.option("--password", default="demo-password", show_default=True)
@click.option("--contacts", "n_contacts", default=40, show_default=True)
@click.option("--language", default="en", show_default=True,
              type=click.Choice(SUPPORTED_LOCALES),
              help="The demo organization's language (and its operation's words).")
@click.option("--base-url", default=None,
              help="Where the app is served, for the printed links. Default: "
                   "PUBLIC_BASE_URL, else http://127.0.0.1:5000 (flask run).")
@with_appcontext
def demo(email: str, password: str, n_contacts: int, language: str,
         base_url: str | None) -> None:
    """Fill a demo organization with contacts, an operation and a join link; print the
    sign-in details, the operation's id and the links to open."""

    if not inspect(db.engine).has_table("organizations"):
        upgrade()  # the demo may be the very first command run on a new instance

    try:
        summary = build_demo(db.session, email=email, password=password, n_contacts=n_contacts,
                             language=language)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    base_url = base_url or current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base_url):
        sign_in = url_for("auth.login", _external=True)
        dashboard = url_for("operations.dashboard", op_id=summary.operation_id, _external=True)
    base = base_url.rstrip("/")
    op_id, slug = summary.operation_id, summary.org_slug
    for line in (
        f"Demo organization: {summary.org_name} (slug {slug})",
        f"Sign in as {summary.email} / {summary.password} at {sign_in}",
        f"Operation #{op_id}: {summary.operation_name} ({summary.operation_state})",
        f"  dashboard: {dashboard}",
        f"  from the command line: flask operations show {op_id} --org {slug}",
        f"Join link for callers (open it on a phone): {base}{summary.join_path}",
    ):
        click.echo(line)


def register_cli(app: Flask) -> None:
    """Attach every command group to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(demo)
    app.cli.add_command(contacts_cli)
    app.cli.add_command(operations_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(worker)
    app.cli.add_command(audit_cli)
