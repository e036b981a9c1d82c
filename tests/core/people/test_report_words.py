"""The import report's remarks are kept as codes and worded for their reader, in the reader's
language (the real catalogues): what the merge says, and what the rows' cleaning says."""

from __future__ import annotations

from ringround.people.import_words import REMARKS, report_words, worded
from tests.core.people.conftest import report_lines

NBSP = "\u00a0"


def test_the_merge_remarks_read_in_french(org, run_import, tmp_path):
    run_import(org, "se_tabs_bom.csv", default_region="SE")
    lines = report_lines(tmp_path / "se_tabs_bom.csv.report.csv", "fr")
    assert [(line["row"], line["status"]) for line in lines] == [
        ("6", "remarque"), ("7", "rejetée")]
    assert lines[0]["reason"] == (f"Prénom{NBSP}: Björn conservé (le fichier indiquait Olle); "
                                  f"Nom{NBSP}: Åström conservé (le fichier indiquait Svensson)")
    assert lines[1]["reason"] == "trop court pour être un numéro de téléphone (12345)"


def test_numbers_in_a_remark_follow_the_reader_and_every_code_has_words(any_app):
    too_long = [("cell_too_long", {"limit": 10_000})]
    assert worded(too_long, report_words("en")) == "a cell is longer than 10,000 characters"
    assert worded(too_long, report_words("fr")) == (
        f"une cellule dépasse 10{chr(0x202f)}000 caractères")
    unknown_code = [("bad_phone", {"problem": "unknown_country_code", "raw": "+999 123",
                                   "calling_code": "+999"})]
    assert worded(unknown_code, report_words("sv")) == (
        "+999 är inget landsnummer (+999 123)")
    french, english = report_words("fr"), report_words("en")
    assert set(french.remarks) == set(REMARKS)
    # Only the one made of punctuation reads the same in French.
    assert [code for code in REMARKS if french.remarks[code] == english.remarks[code]] == [
        "bad_phone"]
