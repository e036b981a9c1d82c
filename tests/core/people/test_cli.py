"""`flask contacts import/export/erase` on the messy fixtures."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from sqlalchemy import func, select

from ringround.extensions import db
from ringround.models import AuditEntry, Contact
from ringround.people.filters import save_list
from tests.core.people.conftest import FIXTURES


def test_cli_import_then_export_numbers(app, factories, tmp_path):
    org, _ = factories.org_with_admin()
    org.language = "fr"
    db.session.commit()
    runner = app.test_cli_runner()
    report = tmp_path / "report.csv"
    result = runner.invoke(args=[
        "contacts", "import", str(FIXTURES / "fr_semicolons_cp1252.csv"), "--org", org.slug,
        "--default-region", "FR", "--tag", "cli", "--report", str(report)])
    assert result.exit_code == 3, result.output  # imported, some rows rejected
    assert "created: 4" in result.output and "merged: 1" in result.output
    assert "rejected: 4" in result.output
    assert f"Report (rejected rows and remarks): {report}" in result.output
    assert "4 rows were rejected" in result.output
    with report.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert [r["row"] for r in lines] == ["4", "6", "8", "9"]
    # For the operator, in English (even for a French organization): worded, not codes.
    assert lines[0] == {"row": "4", "status": "rejected",
                        "reason": "not a phone number (pas de téléphone)"}

    result = runner.invoke(args=["contacts", "export", "--org", org.slug])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted((r["phone_1"], r["phone_1_extension"]) for r in rows) == [
        ("+32470123456", ""), ("+33123456789", "12"), ("+33612345679", ""),
        ("+33798765432", "")]
    assert all("cli" in r["tags"].split(",") for r in rows)


def test_cli_export_of_a_saved_list(app, factories, tmp_path):
    org, _ = factories.org_with_admin()
    runner = app.test_cli_runner()
    runner.invoke(args=["contacts", "import", str(FIXTURES / "se_tabs_bom.csv"), "--org",
                        org.slug, "--default-region", "SE", "--report", str(tmp_path / "r")])
    save_list(db.session, org.id, "Dutch", {"country": "NL"})
    db.session.commit()
    result = runner.invoke(args=["contacts", "export", "--org", org.slug, "--list", "Dutch"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(r["phone_1"] for r in rows) == ["+31201234567", "+31612345678"]
    assert db.session.scalar(select(AuditEntry.details).where(
        AuditEntry.action == "contacts.exported"))["via"] == "cli"


def test_cli_refuses_a_file_without_phone_column(app, factories):
    org, _ = factories.org_with_admin()
    result = app.test_cli_runner().invoke(args=[
        "contacts", "import", str(FIXTURES / "no_phone_column.csv"), "--org", org.slug])
    assert result.exit_code != 0
    assert "No phone column found" in result.output
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_cli_erase_by_phone(app, factories, tmp_path):
    org, _ = factories.org_with_admin()
    runner = app.test_cli_runner()
    runner.invoke(args=["contacts", "import", str(FIXTURES / "nl_commas.csv"), "--org",
                        org.slug, "--default-region", "NL", "--report", str(tmp_path / "r")])
    result = runner.invoke(args=["contacts", "erase", "--org", org.slug, "--phone",
                                 "+31 6 34567890", "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 3
    assert db.session.scalar(select(Contact).where(Contact.first_name == "Fleur")) is None


def test_cli_import_of_only_bad_rows_fails_and_says_so(app, factories, tmp_path):
    org, _ = factories.org_with_admin()
    path = tmp_path / "bad.csv"
    path.write_text("Name,Phone\nAnn,n/a\nBob,12\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["contacts", "import", str(path), "--org",
                                                org.slug])
    assert result.exit_code == 1, result.output
    assert "rejected: 2" in result.output
    assert "Nothing imported: every row was rejected" in result.output


def test_cli_import_writes_its_report_in_the_instance_folder_by_default(app, factories,
                                                                        tmp_path):
    org, _ = factories.org_with_admin()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "nl_commas.csv"
    shutil.copy(FIXTURES / "nl_commas.csv", path)
    result = app.test_cli_runner().invoke(args=[
        "contacts", "import", str(path), "--org", org.slug, "--default-region", "NL"])
    assert result.exit_code == 0, result.output  # every row imported (one with a remark)
    assert [p.name for p in inbox.iterdir()] == ["nl_commas.csv"]  # nothing written beside
    printed = Path(result.output.split("Report (rejected rows and remarks): ")[1].split()[0])
    assert printed.parent == Path(app.instance_path) / "imports"
    assert printed.name.startswith("cli-") and printed.name.endswith("nl_commas.report.csv")
    with printed.open(encoding="utf-8") as handle:
        assert [r["status"] for r in csv.DictReader(handle)] == ["warning"]


def test_cli_imports_files_larger_than_the_web_upload_limit(app, factories):
    """The command reads files up to the reader's limit (500 MB), as before it queued a job:
    MAX_CONTENT_LENGTH is the web upload's."""
    org, _ = factories.org_with_admin()
    app.config["MAX_CONTENT_LENGTH"] = 100  # bytes: smaller than the file
    result = app.test_cli_runner().invoke(args=[
        "contacts", "import", str(FIXTURES / "se_tabs_bom.csv"), "--org", org.slug,
        "--default-region", "SE"])
    assert "too large" not in result.output
    assert "created: 4" in result.output, result.output
