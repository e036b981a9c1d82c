"""`flask --app wsgi audit list`: the audit log for operators, newest first, in English."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from ringround.audit_log import (
    AuditFilter,
    Words,
    audit_page,
    days_filter,
    local_zone,
    subject_text,
)
from ringround.extensions import db
from ringround.people.cli import organization_by_slug

audit_cli = AppGroup("audit", help="Read the audit log.")


@audit_cli.command("list")
@click.option("--org", "slug", default=None, help="The organization's slug (default: all).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="From this day (YYYY-MM-DD; the organization's time zone, else UTC).")
@click.option("--action", default=None,
              help="A kind (exports, erasures, optouts, settings, members, operations, "
                   "contacts) or an action's code (contacts.exported).")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
def list_entries(slug: str | None, since: datetime | None, action: str | None,
                 limit: int) -> None:
    """The newest entries, one a line: time, id, action, who, object, details."""
    org = organization_by_slug(slug) if slug else None
    flt = days_filter(None, since.date() if since else None, None,
                      org.time_zone if org else "UTC")
    flt = AuditFilter(action, flt.since, None)
    zone = local_zone(org.time_zone if org else "UTC")
    with force_locale("en"):
        words = Words.now()
    page = audit_page(db.session, org.id if org else None, flt, size=limit, words=words)
    for row in page.rows:
        click.echo("  ".join(part for part in (
            row.created_at.astimezone(zone).isoformat(timespec="seconds"), f"#{row.id}",
            f"{row.label} [{row.action}]", f"by {row.actor}" if row.actor_is_member
            else row.actor, subject_text(row.subject, words),
            json.dumps(row.details, sort_keys=True) if row.details else "") if part))
    if not page.rows:
        click.echo("No entry matches.")
    elif page.next_cursor:
        click.echo(f"(newest {limit} shown: --limit for more)")
