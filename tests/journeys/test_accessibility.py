"""The axe-core check itself: it runs under the app's strict CSP and does catch violations."""

from __future__ import annotations

import pytest

from tests.journeys.conftest import assert_accessible


def test_axe_runs_under_the_strict_csp_and_fails_on_a_serious_violation(desktop_page):
    page = desktop_page
    page.goto("/setup")
    assert "script-src 'self'" in page.evaluate(
        "fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert_accessible(page, "setup", record=False)
    # Break the page as a careless template might: an input that loses its label.
    page.evaluate("document.querySelectorAll('label').forEach(l => l.remove())")
    with pytest.raises(AssertionError, match=r"label \((critical|serious)\)"):
        assert_accessible(page, "setup without labels", record=False)
    assert page.console_errors == []
