"""An organizer, on a desktop, from an empty server to a live operation and its exports."""

from __future__ import annotations

from tests.journeys import walk


def test_organizer_sets_up_imports_builds_shares_and_exports(desktop_page, tmp_path):
    page = desktop_page
    walk.set_up_organization(page)
    walk.import_messy_csv(page, tmp_path)
    walk.build_operation(page)
    page.screenshot(path="/tmp/journeys-shots/dash.png", full_page=True)
    assert page.console_errors == []
