"""Streamed downloads (call results, contacts) through a real WSGI server, as in production:
each request pushes and pops its own app context, so whatever the stream still needs after
the view returned must not hang on the request (its session, `current_user`)."""

from __future__ import annotations

import csv
import gc
import io
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from sqlalchemy import String, cast, literal, select, true
from werkzeug.serving import make_server

from ringround import operation_stats
from ringround import operations as ops
from ringround.extensions import db as _db
from ringround.models import (
    Attempt,
    AuditEntry,
    CallMethod,
    DispositionGroup,
    Operation,
    OperationState,
    Target,
    TargetState,
    User,
)
from ringround.models.base import utcnow
from ringround.people import export as export_module
from tests import factories
from tests.caller_fixtures import calling_operation, session_cookie
from tests.conftest import CSRF_RE, _pg_counter, make_app
from tests.factories import PASSWORD


@pytest.fixture
def app_overrides(tmp_path) -> dict:
    """A French catalogue with one result label, to see the requester's language in a file."""
    catalog = Catalog(locale="fr")
    catalog.add("Talked to them", "A parlé")
    folder = tmp_path / "translations" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return {"BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations")}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request, tmp_path, app_overrides):
    """The app behind a real threaded WSGI server, on SQLite and on PostgreSQL; yields its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'served.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database(
            f"t{next(_pg_counter)}")
    app = make_app(url, tmp_path / "instance", TESTING=False, **app_overrides)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        yield app, f"http://127.0.0.1:{server.server_port}"
        _db.session.remove()
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        _db.engine.dispose()


def sign_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/login").text
    match = CSRF_RE.search(page)
    response = browser.post(f"{base}/login", data={
        "email": email, "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
        allow_redirects=False)
    assert response.status_code == 302
    return browser


def called_operation(calls: int = 3, extension: str | None = None):
    org, admin = factories.org_with_admin()
    op = ops.create_draft(_db.session, org.id, admin, "Turnout")
    ops.apply_template(_db.session, op, "mobilize")
    ops.update_source(_db.session, op, contact_filter={"tags_any": ["member"]})
    ops.activate(_db.session, op, admin)
    agent = factories.phone_user("Caller")
    for n in range(calls):
        person = factories.contact(org, first_name=f"Person{n}")
        person.phones[0].extension = extension
        target = Target(operation_id=op.id, contact_id=person.id, state=TargetState.DONE)
        _db.session.add(target)
        _db.session.flush()
        _db.session.add(Attempt(client_id=f"a{n}", operation_id=op.id, target_id=target.id,
                                contact_id=person.id, agent_id=agent.id, disposition="talked",
                                disposition_group=DispositionGroup.CONTACTED,
                                answers={"q1": "yes"}))
    _db.session.commit()
    return org, admin, op


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def audit_actions(action: str) -> list[AuditEntry]:
    _db.session.rollback()
    return list(_db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_results_export_downloads_from_a_real_server_and_is_audited_once(served):
    app, base = served
    org, admin, op = called_operation()
    browser = sign_in(base, admin.email)
    response = browser.get(f"{base}/console/operations/{op.id}/results.csv")
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbfcall_id,")  # a BOM, for Excel
    rows = read_csv(response.content)
    assert rows[0][:3] == ["call_id", "recorded_at", "agent"]
    assert len(rows) == 4
    assert [e.details["rows"] for e in audit_actions("operation.results_exported")] == [3]


def test_results_export_keeps_e164_and_the_extension_apart(served):
    """#13 item 11: the phone column is E.164 alone, the extension has its own column."""
    app, base = served
    org, admin, op = called_operation(calls=2, extension="744")
    browser = sign_in(base, admin.email)
    rows = read_csv(browser.get(f"{base}/console/operations/{op.id}/results.csv").content)
    phone, extension = rows[0].index("phone"), rows[0].index("extension")
    assert extension == phone + 1
    assert all(re.fullmatch(r"\+\d{8,15}", row[phone]) for row in rows[1:])
    assert [row[extension] for row in rows[1:]] == ["744", "744"]


def test_results_export_labels_are_in_the_requesters_language(served, monkeypatch):
    app, base = served
    monkeypatch.setattr("ringround.i18n.SUPPORTED_LOCALES", ["en", "fr"])
    org, admin, op = called_operation()
    admin.language = "fr"
    _db.session.commit()
    browser = sign_in(base, admin.email)
    response = browser.get(f"{base}/console/operations/{op.id}/results.csv")
    assert response.status_code == 200, response.text
    rows = read_csv(response.content)
    column = rows[0].index("disposition")
    assert [row[column] for row in rows[1:]] == ["A parlé"] * 3


def test_contacts_export_downloads_from_a_real_server_and_is_audited_once(served):
    app, base = served
    org, admin, op = called_operation(calls=2, extension="744")
    browser = sign_in(base, admin.email)
    page = browser.get(f"{base}/console/contacts/").text
    response = browser.post(f"{base}/console/contacts/export",
                            data={"csrf_token": csrf_of(page), "list_name": "Everyone"})
    assert response.status_code == 200, response.text
    rows = read_csv(response.content)
    assert rows[0][3:5] == ["phone_1", "phone_1_extension"]
    assert [(row[0], row[4]) for row in rows[1:]] == [("Person0", "744"), ("Person1", "744")]
    assert all(re.fullmatch(r"\+\d+", row[3]) for row in rows[1:])
    entries = audit_actions("contacts.exported")
    assert [(e.actor_id, e.details["count"], e.details["list"]) for e in entries] == [
        (admin.id, 2, "Everyone")]



def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    return match.group(1) or match.group(2)


def add_calls(op: Operation, contact_id: int, agent_id: int, n: int) -> None:
    """`n` recorded calls with long notes, so that an export spans many chunks."""
    target_id = _db.session.scalar(select(Target.id).where(Target.operation_id == op.id))
    _db.session.execute(Attempt.__table__.insert(), [
        {"client_id": f"bulk-{i}", "operation_id": op.id, "target_id": target_id,
         "contact_id": contact_id, "agent_id": agent_id, "disposition": "no_answer",
         "disposition_group": DispositionGroup.NO_CONTACT, "answers": {},
         "notes": "n" * 300, "method": CallMethod.OWN_PHONE, "created_at": utcnow()}
        for i in range(n)])
    _db.session.commit()


def test_failed_and_abandoned_streams_leave_no_session_behind(served, monkeypatch):
    """A stream that raises halfway and one whose client stops reading: afterwards every
    request sees fresh data, writes go through, and no connection is still checked out."""
    app, base = served
    op, agent, contacts = calling_operation(n=3)
    admin = _db.session.get(User, op.members[0].user_id)
    add_calls(op, contacts[0].id, agent.id, 1000)  # about 350 kB of CSV
    admin_browser = sign_in(base, admin.email)
    url = f"{base}/console/operations/{op.id}/results.csv"

    # A failure inside the row generator itself, while its cursor is half read (as the
    # DetachedInstanceError did): on SQLite, that cursor pinned an old snapshot on a pooled
    # connection, and later requests on it read stale data or could not write.
    original_cell, cells = operation_stats._cell, iter(range(10**9))

    def breaks_halfway(value):
        if next(cells) == 3000:
            raise RuntimeError("the disk went away")
        return original_cell(value)

    original_contacts = export_module.contact_rows

    def breaks_halfway_contacts(*args, **kwargs):
        for n, row in enumerate(original_contacts(*args, **kwargs)):
            if n == 2:
                raise RuntimeError("the disk went away")
            yield row

    # A volunteer is on a call.
    volunteer = requests.Session()
    volunteer.cookies.set("session", session_cookie(app, agent), domain="127.0.0.1", path="/")
    page = volunteer.get(f"{base}/call/{op.id}").text
    # Two exports fail halfway. The garbage collector is held off meanwhile: a traceback
    # keeps the failed generator's frame (and so its cursor) alive until it runs.
    monkeypatch.setattr(operation_stats, "_cell", breaks_halfway)
    gc.disable()
    try:
        for _ in range(2):
            cells = iter(range(10**9))  # noqa: F841 (read by breaks_halfway)
            with pytest.raises(requests.exceptions.RequestException):
                admin_browser.get(url)  # the server cuts the response off halfway
        # Then a contacts export fails and three downloads are abandoned by the client.
        monkeypatch.setattr(operation_stats, "_cell", original_cell)
        monkeypatch.setattr(export_module, "contact_rows", breaks_halfway_contacts)
        contacts_page = admin_browser.get(f"{base}/console/contacts/").text
        failed = admin_browser.post(f"{base}/console/contacts/export",
                                    data={"csrf_token": csrf_of(contacts_page)})
        assert failed.status_code == 500
        monkeypatch.setattr(export_module, "contact_rows", original_contacts)
        # The server must still be writing when the client walks away: on a quick machine
        # the kernel's buffers (megabytes on loopback) would otherwise take the whole file.
        paced = iter(range(10**9))

        def slowly(value):
            if next(paced) % 100 == 0:
                time.sleep(0.002)
            return original_cell(value)

        monkeypatch.setattr(operation_stats, "_cell", slowly)
        for _ in range(3):
            with admin_browser.get(url, stream=True) as response:
                assert response.status_code == 200
                next(response.iter_content(4096))  # then the client walks away
        time.sleep(0.5)
        stale_proof_checks(admin_browser, volunteer, base, op, page)
    finally:
        gc.enable()
        monkeypatch.undo()
    # None of them was sent whole.
    assert not audit_actions("operation.results_exported")
    assert not audit_actions("contacts.exported")
    _db.session.close()
    assert _db.engine.pool.checkedout() == 0


def stale_proof_checks(admin_browser, volunteer, base, op, page) -> None:
    """The organizer pauses and every later read says so; a result is recorded."""
    dashboard = admin_browser.get(f"{base}/console/operations/{op.id}").text
    paused = admin_browser.post(f"{base}/console/operations/{op.id}/pause",
                                data={"csrf_token": csrf_of(dashboard)})
    assert paused.status_code == 200
    for _ in range(8):
        html = admin_browser.get(f"{base}/console/operations/{op.id}").text
        assert "badge-paused" in html and "badge-active" not in html
    # ... and a volunteer records the result of a call: no "database is locked".
    target_id = int(re.search(r'data-target="(\d+)"', page).group(1))
    entry = {"kind": "result", "client_id": str(uuid.uuid4()), "target_id": target_id,
             "disposition": "talked", "answers": {}, "notes": "", "field_updates": {},
             "lease_proof": re.search(r'name="lease_proof" value="([^"]+)"', page).group(1),
             "started_at": utcnow().isoformat(), "ended_at": utcnow().isoformat()}
    synced = volunteer.post(f"{base}/api/call/{op.id}/sync", json={"entries": [entry]},
                            headers={"X-CSRFToken": csrf_of(page)})
    assert synced.status_code == 200, synced.text
    assert synced.json()["accepted"] == [entry["client_id"]]

    for _ in range(4):
        html = admin_browser.get(f"{base}/console/operations/{op.id}").text
        assert "badge-paused" in html and "badge-active" not in html
    _db.session.rollback()
    assert _db.session.get(Operation, op.id).state is OperationState.PAUSED


def peak_memory() -> int:
    """The process's peak resident memory (Linux VmHWM), in bytes."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def reset_peak_memory() -> int:
    """Start measuring the peak afresh (earlier tests' peaks are forgotten); returns it."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_memory()


def copy_call(attempt_id: int, n: int) -> None:
    """`n` copies of one recorded call, made inside the database (one INSERT ... SELECT)."""
    table = Attempt.__table__
    seq = select(literal(1).label("n")).cte("seq", recursive=True)
    seq = seq.union_all(select(seq.c.n + 1).where(seq.c.n < n))
    columns = [c for c in table.columns if c.name not in ("id", "client_id")]
    _db.session.execute(table.insert().from_select(
        ["client_id", *[c.name for c in columns]],
        select(literal("bulk-") + cast(seq.c.n, String), *columns)
        .select_from(table.join(seq, true())).where(table.c.id == attempt_id)))
    _db.session.commit()


def test_results_export_of_200000_calls_streams_in_bounded_memory(client, db):
    """Through the Flask client: the body is a generator read piece by piece, and reading
    all of it raises the process's peak memory by far less than the file's 21 MB (built
    whole, the rows alone would take about 200 MB)."""
    org, admin, op = called_operation(calls=1)
    copy_call(db.session.scalar(select(Attempt.id).where(Attempt.operation_id == op.id)),
              199_999)
    factories.login(client, admin)

    before = reset_peak_memory()
    response = client.get(f"/console/operations/{op.id}/results.csv")
    assert response.status_code == 200 and response.is_streamed
    assert isinstance(response.response, Iterator)
    size = lines = 0
    for piece in response.response:
        size += len(piece)
        lines += piece.count(b"\n")
    grown = peak_memory() - before
    assert lines == 200_001 and size > 20_000_000
    assert grown < 40_000_000, f"peak memory grew by {grown / 1e6:.1f} MB"
    assert [e.details["rows"] for e in audit_actions("operation.results_exported")] == [200_000]
