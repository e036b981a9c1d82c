"""The import's words for people: the fields a column may be imported as, and the report's
columns, statuses and remarks, in the reader's language.

The import notes what it found about a row as remarks, `(code, values)` tuples made by the
worker processes and the merge without Flask or a catalogue, and its report file keeps them
so (`import_report`). They are worded here, from the tables below, when someone reads the
report: each organizer in their own language (docs/contacts-import.md, "The report").
"""

from __future__ import annotations

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


def report_words(locale: str | None = None) -> ReportWords:
    """The report's words in `locale`, else in the current page's language."""
    with force_locale(locale) if locale else nullcontext():
        return ReportWords(
            str(get_locale() or "en"), tuple(map(str, COLUMNS)), _plain(STATUSES),
            _plain(REMARKS), _plain(PHONE_PROBLEMS), _plain(FIELD_LABELS))


def _plain(table: dict) -> dict[str, str]:
    return {code: str(words) for code, words in table.items()}


def worded(remarks: Iterable[Remark], words: ReportWords) -> str:
    """A row's remarks as one sentence each, in `words`' language."""
    return "; ".join(_remark(code, values, words) for code, values in remarks)


def _remark(code: str, values: dict, words: ReportWords) -> str:
    values = {name: format_decimal(value, locale=words.locale) if isinstance(value, int)
              else value for name, value in values.items()}
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
