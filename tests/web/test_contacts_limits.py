"""Upload limits of the contacts console (a small MAX_CONTENT_LENGTH for this module)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ringround.models import ImportJob
from tests.factories import login
from tests.web.test_contacts import upload


@pytest.fixture
def app_overrides():
    return {"MAX_CONTENT_LENGTH": 300}


def test_too_large_upload_gets_a_clear_message(client, db, factories):
    _org, admin = factories.org_with_admin()
    login(client, admin)
    response = upload(client, "fr_semicolons_cp1252.csv")  # 733 bytes > 300
    assert response.status_code == 413
    assert "The file is too large" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0
