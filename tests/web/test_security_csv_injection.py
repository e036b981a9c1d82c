"""Formula injection: no CSV the app writes lets a spreadsheet run a cell as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from ringround import operations as ops
from ringround.csv_stream import csv_chunks
from ringround.models import Attempt, DispositionGroup, Target, TargetState
from ringround.operation_stats import results_csv
from ringround.people.export import export_csv
from ringround.people.import_words import report_words, worded_rows
from ringround.people.importer import import_contacts
from ringround.spreadsheet_safety import FORMULA_STARTS, neutralize, safe_rows
from tests.conftest import post_form
from tests.factories import login

HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+SUM(1,2)", "-2+3", "@SUM(1)",
           "\tcmd", "\rcmd"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(value):
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["Maria", "O'Neil", "", " =1", "3-2", "a@b.org", 42, -5, None])
def test_other_cells_are_left_as_they_are(value):
    assert neutralize(value) == value


def test_plain_e164_numbers_stay_readable_in_phone_columns_only():
    rows = list(safe_rows([["first_name", "phone_1", "phone"],
                           ["+33612345678", "+33612345678", "+12025550100 x12"],
                           ["x", "+33 6 12 34 56 78", "+1+1"]]))
    assert rows[1] == ["'+33612345678", "+33612345678", "+12025550100 x12"]
    assert rows[2] == ["x", "'+33 6 12 34 56 78", "'+1+1"]


def _contacts_with_hostile_names(factories, org):
    for n, name in enumerate(HOSTILE):
        factories.contact(org, first_name=name, phone=f"+3361234567{n}", country="FR")


def test_the_contacts_download_neutralizes_names_and_keeps_phones(client, db, factories):
    org, admin = factories.org_with_admin()
    _contacts_with_hostile_names(factories, org)
    login(client, admin)
    response = post_form(client, "/console/contacts/export", {}, page="/console/contacts/")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert sorted(r["first_name"] for r in rows) == sorted("'" + name for name in HOSTILE)
    assert sorted(r["phone_1"] for r in rows) == [f"+3361234567{n}" for n in range(6)]
    assert {r["country"] for r in rows} == {"FR"}


def test_the_command_line_export_neutralizes_too(db, factories):
    org, _ = factories.org_with_admin()
    _contacts_with_hostile_names(factories, org)
    out = io.StringIO()
    export_csv(db.session, org.id, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(r["first_name"] for r in rows) == sorted("'" + name for name in HOSTILE)
    assert rows[0]["phone_1"].startswith("+336")


def _operation_with_hostile_results(db, factories):
    org, admin = factories.org_with_admin()
    op = ops.create_draft(db.session, org.id, admin, "Turnout")
    agent = factories.phone_user("=cmd|' /C calc'!A0")
    for n, note in enumerate(HOSTILE):
        person = factories.contact(org, first_name=note, phone=f"+3361234567{n}")
        target = Target(operation_id=op.id, contact_id=person.id, state=TargetState.DONE)
        db.session.add(target)
        db.session.flush()
        db.session.add(Attempt(client_id=f"a{n}", operation_id=op.id, target_id=target.id,
                               contact_id=person.id, agent_id=agent.id, disposition="talked",
                               disposition_group=DispositionGroup.CONTACTED, notes=note))
    db.session.commit()
    return op, admin


def test_the_results_download_neutralizes_names_notes_and_agents(client, db, factories):
    op, admin = _operation_with_hostile_results(db, factories)
    login(client, admin)
    response = client.get(f"/console/operations/{op.id}/results.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["notes"] for r in rows) == sorted("'" + note for note in HOSTILE)
    assert sorted(r["first_name"] for r in rows) == sorted("'" + note for note in HOSTILE)
    assert all(r["agent"].startswith("'=cmd") for r in rows)
    assert sorted(r["phone"] for r in rows) == [f"+3361234567{n}" for n in range(6)]


def test_the_results_csv_string_neutralizes_too(db, factories):
    op, admin = _operation_with_hostile_results(db, factories)
    rows = list(csv.DictReader(io.StringIO(results_csv(db.session, op, admin))))
    assert sorted(r["notes"] for r in rows) == sorted("'" + note for note in HOSTILE)


def test_the_import_report_neutralizes_the_rejected_cells(db, factories, tmp_path):
    org, _ = factories.org_with_admin()
    upload = tmp_path / "people.csv"
    upload.write_text("first_name,phone\n=HYPERLINK(\"x\"),not a number\n"
                      "@SUM(1),+1+1\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    import_contacts(db.session, org.id, upload, default_region="FR", report_path=report)
    # As its reader downloads it (the web and the CLI): worded, then written safe.
    worded = b"".join(csv_chunks(worded_rows(report, report_words("en")))).decode()
    for text in (report.read_text(encoding="utf-8"), worded):
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) == 3  # the header and both rows, rejected
        # A report keeps row numbers and reasons, not the rows' cells (issue 14, item 14),
        # and nothing in it is a formula a spreadsheet would run.
        assert "HYPERLINK" not in text
        assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
