"""The English catalogue, extracted once per test process."""

from __future__ import annotations

import pytest

from ringround.extensions import babel
from tests.i18n_support import LOCALES, compile_catalogue, extract_english, pseudo_catalogue
from tests.telephony.conftest import PUBLIC


@pytest.fixture(scope="session")
def english(tmp_path_factory):
    return extract_english(tmp_path_factory.mktemp("pot"))


@pytest.fixture(scope="session")
def pseudo_translations(tmp_path_factory, english):
    """A folder of throwaway catalogues (every string pseudo-translated) for fr, sv and nl."""
    folder = tmp_path_factory.mktemp("translations")
    for locale in LOCALES:
        compile_catalogue(pseudo_catalogue(english, locale), folder, locale)
    return folder


@pytest.fixture
def app_overrides(pseudo_translations):
    """Apps of these tests read the throwaway catalogues."""
    babel.__dict__.pop("domain_instance", None)  # one cache for every app of the process
    yield {"BABEL_TRANSLATION_DIRECTORIES": str(pseudo_translations), "TELEPHONY_JOBS": "sync",
           "PUBLIC_BASE_URL": PUBLIC}
    babel.__dict__.pop("domain_instance", None)
