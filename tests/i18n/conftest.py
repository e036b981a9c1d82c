"""The English catalogue, extracted once per test process."""

from __future__ import annotations

import pytest

from tests.i18n_support import extract_english


@pytest.fixture(scope="session")
def english(tmp_path_factory):
    return extract_english(tmp_path_factory.mktemp("pot"))
