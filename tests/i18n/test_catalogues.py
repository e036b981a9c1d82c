"""Every catalogue in translations/ is complete: nothing untranslated or fuzzy, the English
placeholders kept, no English string missing. A locale whose catalogue is not there yet skips."""

from __future__ import annotations

import pytest

from ringround.i18n import SUPPORTED_LOCALES
from tests.i18n_support import (
    LOCALES,
    catalogue_problems,
    placeholders,
    po_path,
    pseudo_catalogue,
    read_catalogue,
)


def test_every_translated_locale_is_supported():
    assert set(LOCALES) | {"en"} == set(SUPPORTED_LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete(locale, english):
    path = po_path(locale)
    if not path.exists():
        pytest.skip(f"{path.relative_to(path.parents[3])} is not on this branch yet")
    problems = catalogue_problems(read_catalogue(path, locale), english)
    assert not problems, f"{locale}: {len(problems)} problems:\n" + "\n".join(problems[:50])


def test_placeholders_are_read_as_the_code_fills_them():
    assert placeholders("%(name)s called %(n)d of {n} (100%%)") == ["%(n)d", "%(name)s", "{n}"]


def test_a_complete_catalogue_has_no_problem(english):
    assert catalogue_problems(pseudo_catalogue(english, "fr"), english) == []


def test_an_incomplete_catalogue_is_caught(english):
    """The check fails on what a translator can get wrong: an empty entry, a fuzzy one, a
    placeholder renamed or dropped, a plural form missing, a string added since."""
    catalogue = pseudo_catalogue(english, "sv", leave_out=["Sign out"])
    catalogue["Dashboard"].flags.add("fuzzy")
    catalogue["Welcome! %(org)s is ready."].string = "Välkommen! %(organisation)s är klar."
    catalogue["Settings of %(org)s"].string = "Inställningar"
    plural = catalogue["%(num)d person"]
    plural.string = (plural.string[0], "")
    del catalogue["Language"]
    problems = catalogue_problems(catalogue, english)
    assert sorted(problems) == sorted([
        "untranslated: 'Sign out'", "fuzzy: 'Dashboard'",
        "placeholders differ: 'Welcome! %(org)s is ready.' -> 'Välkommen! %(organisation)s är "
        "klar.'",
        "placeholders differ: 'Settings of %(org)s' -> 'Inställningar'",
        "untranslated: '%(num)d person'", "missing: 'Language'",
    ])
