"""The import's words for people: the fields a column may be imported as, why a file was
not imported, and the report's columns, statuses and remarks, in the reader's language.

The import notes what it found about a row as remarks, `(code, values)` tuples made by the
worker processes and the merge without Flask or a catalogue, and its report file keeps them
so (`import_report`). They are worded here, from the tables below, when someone reads the
report: each organizer in their own language (docs/contacts-import.md, "The report").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from babel.numbers import format_decimal
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l

from ringround.people.headers import IGNORE
from ringround.people.import_report import read_report
from ringround.people.normalize import Remark
from ringround.people.reader import TableError

# What each field a column may be imported as is called (the columns page, the report).
FIELD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "full_name": _l("Full name"), "email": _l("Email"), "phone": _l("Phone"),
    "mobile": _l("Mobile"), "landline": _l("Landline"), "street": _l("Street address"),
    "postcode": _l("Postcode"), "city": _l("City"), "country": _l("Country"),
    "language": _l("Language"), "date_of_birth": _l("Date of birth"),
    "household": _l("Household"), "tags": _l("Tags"),
    "do_not_contact": _l("Do not contact when yes (opt-out)"),
    "opt_in": _l("Do not contact when no (opt-in)"),
    "extension": _l("Extension (of the phone column before it)"), IGNORE: _l("Do not import"),
}
# The report's header row, and its statuses.
COLUMNS = (_l("row"), _l("status"), _l("reason"))
STATUSES = {"rejected": _l("rejected"), "warning": _l("warning")}
# Why a number was refused (`phones.PHONE_ERRORS`' codes).
PHONE_PROBLEMS = {
    "empty": _l("no number"),
    "not_a_number": _l("not a phone number"),
    "needs_country": _l("national number without a country (set a default region)"),
    "unknown_country_code": _l("%(calling_code)s is not a country calling code"),
    "too_short": _l("too short to be a phone number"),
    "too_long": _l("too long to be a phone number"),
    "invalid": _l("not a valid number for its country"),
    "scientific": _l("number mangled by a spreadsheet (scientific notation)"),
}
# Every remark the import makes; `problem` is a PHONE_PROBLEMS code, `field` a field's code.
REMARKS = {
    "no_phone": _l("no phone number"),
    "bad_phone": _l("%(problem)s (%(raw)s)"),
    "number_skipped": _l("number skipped: %(problem)s (%(raw)s)"),
    "cell_too_long": _l("a cell is longer than %(limit)s characters"),
    "unknown_country": _l("unknown country '%(value)s' ignored"),
    "invalid_email": _l("invalid email '%(value)s' ignored"),
    "unknown_language": _l("unknown language '%(value)s' ignored"),
    "invalid_birth_date": _l("invalid date of birth '%(value)s' ignored"),
    "custom_not_number": _l("%(key)s: '%(value)s' is not a valid number, ignored"),
    "custom_not_date": _l("%(key)s: '%(value)s' is not a valid date, ignored"),
    "custom_not_boolean": _l("%(key)s: '%(value)s' is not a valid boolean, ignored"),
    "foreign_number": _l("number %(number)s belongs to another contact, not added"),
    "field_kept": _l("%(field)s: kept %(kept)s (file had %(file)s)"),
    "kept_apart_row_own": _l(
        "same email as row %(other)s (%(other_name)s) but another first name "
        "(%(first_name)s): kept as a separate contact, in its own address's household"),
    "kept_apart_row_shared": _l(
        "same email as row %(other)s (%(other_name)s) but another first name "
        "(%(first_name)s): kept as a separate contact, in the same household"),
    "kept_apart_contact_own": _l(
        "same email as contact #%(other)s (%(other_name)s) but another first name "
        "(%(first_name)s): kept as a separate contact, in its own address's household"),
    "kept_apart_contact_shared": _l(
        "same email as contact #%(other)s (%(other_name)s) but another first name "
        "(%(first_name)s): kept as a separate contact, in the same household"),
}

# Why a file was not imported (`reader.TableError.kind`): the upload page, the import page.
FILE_PROBLEMS = {
    "unreadable": _l("The file could not be read."),
    "empty": _l("The file is empty."),
    "too_large": _l("The file is too large (%(size)s MB; the limit is %(limit)s MB). Split it "
                    "into smaller files."),
    "not_a_table": _l("This is not a table: save it as CSV or Excel (.xlsx)."),
    "not_a_workbook_nor_vcards": _l("This is not a table: the file is not a readable Excel "
                                    "workbook nor a zip of vCard (.vcf) files."),
    "not_a_workbook": _l("This is not a table: the file is not a readable Excel workbook."),
    "workbook_too_big": _l("This workbook unpacks to %(size)s MB, far more than a table of "
                           "contacts needs (a damaged or hostile file). Save it again from "
                           "Excel, or as CSV."),
    "zip_too_big": _l("This zip unpacks to %(size)s MB, far more than a table of contacts "
                      "needs (a damaged or hostile file). Save it again from Excel, or as CSV."),
    "too_many_columns": _l("The file has %(count)s columns; the limit is %(limit)s. Keep the "
                           "columns you need (at least one of phone numbers) and upload it "
                           "again."),
    "over_many_columns": _l("The file has over %(count)s columns; the limit is %(limit)s. Keep "
                            "the columns you need (at least one of phone numbers) and upload "
                            "it again."),
    "no_columns": _l("This is not a table: no columns found (separate them with commas, "
                     "semicolons or tabs, and put the column names on the first line)."),
    "no_rows": _l("The file has column names but no rows."),
    "vcard_unreadable": _l("The vCard file could not be read."),
    "no_cards": _l("The file has no contact cards (BEGIN:VCARD … END:VCARD)."),
    "several_files": _l("Several files at once can only be vCard (.vcf) files; upload other "
                        "files one at a time."),
    "no_phone_column": _l("No phone column found. Name one of the columns Phone, Mobile, "
                          "Téléphone, Telefon or Telefoon."),
    "no_phone_column_mapped": _l("No phone column found. Name one of the columns Phone, "
                                 "Mobile, Téléphone, Telefon or Telefoon, or choose it in the "
                                 "column mapping."),
    "no_consent_note": _l("Say where these contacts come from and what they will be called "
                          "about (consent note)."),
    "no_organization": _l("No such organization."),
    "stopped": _l("The import stopped on an error."),
    "interrupted": _l("The import was interrupted %(times)s times (its worker stopped) after "
                      "%(rows)s rows. Upload the file again to import the rest: contacts "
                      "already imported are merged, not added twice."),
}


@dataclass(frozen=True)
class ReportWords:
    """The tables above in one language, as plain strings: a download streams after its
    request has ended, and the CLI has no request at all."""

    locale: str
    columns: tuple[str, ...]
    statuses: dict[str, str]
    remarks: dict[str, str]
    phone_problems: dict[str, str]
    fields: dict[str, str]
    file_problems: dict[str, str]


def report_words(locale: str | None = None) -> ReportWords:
    """The report's words in `locale`, else in the current page's language."""
    with force_locale(locale) if locale else nullcontext():
        return ReportWords(
            str(get_locale() or "en"), tuple(map(str, COLUMNS)), _plain(STATUSES),
            _plain(REMARKS), _plain(PHONE_PROBLEMS), _plain(FIELD_LABELS),
            _plain(FILE_PROBLEMS))


def _plain(table: dict) -> dict[str, str]:
    return {code: str(words) for code, words in table.items()}


def worded(remarks: Iterable[Remark], words: ReportWords) -> str:
    """A row's remarks as one sentence each, in `words`' language."""
    return "; ".join(_remark(code, values, words) for code, values in remarks)


def file_problem(problem: TableError | str | None, words: ReportWords | None = None) -> str:
    """Why a file was not imported, worded (default: in the current page's language): a
    `TableError`, or what an import job kept of one (`TableError.stored`; a message kept as
    text before stays as it is)."""
    words = words or report_words()
    if isinstance(problem, TableError):
        kind, values = problem.kind, problem.values
    else:
        try:
            kind, values = json.loads(problem or "")
        except (ValueError, TypeError):
            return problem or ""
    template = words.file_problems.get(str(kind))
    return template % _figures(dict(values), words) if template else str(problem)


def _figures(values: dict, words: ReportWords) -> dict:
    """`values` with their numbers written as the reader writes them ("10 000")."""
    return {name: format_decimal(value, locale=words.locale) if isinstance(value, int)
            else value for name, value in values.items()}


def _remark(code: str, values: dict, words: ReportWords) -> str:
    values = _figures(values, words)
    if "problem" in values:
        problem = words.phone_problems.get(values["problem"], values["problem"])
        values["problem"] = problem % values
    if "field" in values:
        values["field"] = words.fields.get(values["field"], values["field"])
    template = words.remarks.get(code)
    return template % values if template is not None else code


def worded_rows(path: Path, words: ReportWords) -> Iterator[list[str]]:
    """The report file at `path` as people read it: its header, then each row's number,
    status and reasons, in `words`' language (a reason stored as text stays as it is)."""
    yield list(words.columns)
    for row, status, remarks in read_report(path):
        reason = remarks if isinstance(remarks, str) else worded(remarks, words)
        yield [row, words.statuses.get(status, status), reason]
