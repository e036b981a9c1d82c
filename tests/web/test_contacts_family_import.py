"""The import page says when a row was kept apart from another person with its email."""

from __future__ import annotations

import io

from sqlalchemy import select

from ringround.models import ImportJob
from tests.conftest import csrf_token_from, post_form
from tests.factories import login
from tests.web.test_contacts import wait_checked, wait_done

FAMILY = (b"First name;Last name;Phone;Email\n"
          b"Jean;Dupont;+33 6 12 34 56 78;famille@example.org\n"
          b"Marie;Dupont;+33 6 98 76 54 32;famille@example.org\n")


def test_the_summary_counts_people_kept_apart(client, db, factories):
    _org, admin = factories.org_with_admin()
    login(client, admin)
    html = client.get("/console/contacts/import").get_data(as_text=True)
    response = client.post("/console/contacts/import", data={
        "csrf_token": csrf_token_from(html), "file": (io.BytesIO(FAMILY), "family.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    job = db.session.scalar(select(ImportJob))
    wait_checked(client, job.id)
    db.session.refresh(job)
    columns = {f"col_{i}": target for i, target in enumerate(job.mapping)}
    assert post_form(client, response.location, columns).status_code == 302
    html = wait_done(client, db, job.id)
    assert 'data-key="created">2<' in html and 'data-key="merged">0<' in html
    assert 'data-key="kept_apart">1</strong> kept apart from another person' in html
