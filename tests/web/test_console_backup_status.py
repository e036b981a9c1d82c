"""The console dashboard tells admins when the last backup ran, and warns past 24 hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask_migrate import stamp

from ringround.backups import create_backup
from ringround.extensions import db
from ringround.models import OrgRole
from web.formats import moment


def _age(path, hours: int) -> None:
    """Rewrite a backup's header as if it had been made `hours` ago."""
    header, _, payload = path.read_bytes().partition(b"\n")
    meta = json.loads(header)
    meta["created_at"] = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    path.write_bytes(json.dumps(meta).encode() + b"\n" + payload)


def test_admin_sees_no_backup_then_the_last_one_then_a_warning_when_old(
        app, client, factories):
    stamp()
    org, admin = factories.org_with_admin()
    factories.login(client, admin)
    page = client.get("/console/").get_data(as_text=True)
    assert "No backup has been made yet." in page and 'role="alert" id="backup-status"' in page

    info = create_backup(db.engine)  # into BACKUP_DIR, the folder the console reads
    assert str(info.path.parent) == str(app.config["BACKUP_DIR"])
    page = client.get("/console/").get_data(as_text=True)
    with app.test_request_context():  # the date and time as the reader's locale writes them
        when = moment(info.created_at)
    assert f"Last backup: {when} UTC." in page
    assert 'role="alert" id="backup-status"' not in page

    _age(info.path, 25)
    page = client.get("/console/").get_data(as_text=True)
    assert "No backup in the last 24 hours" in page and 'role="alert" id="backup-status"' in page


def test_organizers_are_not_shown_the_backup_status(app, client, factories):
    org, admin = factories.org_with_admin()
    organizer = factories.organizer(org, admin, role=OrgRole.ORGANIZER)
    factories.login(client, organizer)
    page = client.get("/console/").get_data(as_text=True)
    assert org.name in page and "backup-status" not in page
