"""An import's report comes in the language of the organizer who reads it (the real
catalogues): its header, statuses and every remark, whoever started the import."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from ringround.models import ImportJob
from tests.conftest import csrf_token_from, post_form
from tests.factories import login
from tests.web.test_contacts import wait_checked, wait_done

NBSP = "\u00a0"
ROWS = """Prénom,Nom,Téléphone,Mobile,E-mail,Pays,Langue
Anne,Petit,06 12 34 56 78,06 12,anne@example.org,France,fr
Luc,Moreau,n/a,,,,
Zoé,Roux,07 98 76 54 32,,pas-un-email,Atlantide,klingon
Léa,Blanc,,,,,
Anne,Petit,06 12 34 56 78,,,,
""".encode()


@pytest.fixture
def french_import(client, db, factories):
    """A French organizer imported ROWS: the organization, the organizer, the job."""
    org, admin = factories.org_with_admin()
    admin.language = "fr"
    db.session.commit()
    login(client, admin)
    html = client.get("/console/contacts/import").get_data(as_text=True)
    response = client.post("/console/contacts/import", content_type="multipart/form-data",
                           data={"csrf_token": csrf_token_from(html),
                                 "file": (io.BytesIO(ROWS), "gens.csv")})
    job = db.session.scalar(select(ImportJob))
    wait_checked(client, job.id)
    db.session.refresh(job)
    columns = {f"col_{i}": target for i, target in enumerate(job.mapping)}
    assert post_form(client, response.location,
                     {**columns, "default_region": "FR"}).status_code == 302
    wait_done(client, db, job.id)
    return org, admin, job


def _report(client, job) -> list[list[str]]:
    response = client.get(f"/console/contacts/import/{job.id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_a_french_organizer_downloads_the_report_in_french(client, french_import):
    _org, _admin, job = french_import
    assert _report(client, job) == [
        ["ligne", "statut", "raison"],
        ["2", "remarque", f"numéro écarté{NBSP}: trop court pour être un numéro de téléphone "
                          "(06 12)"],
        ["3", "rejetée", "pas un numéro de téléphone (n/a)"],
        ["4", "remarque", f"pays inconnu «{NBSP}Atlantide{NBSP}» ignoré; e-mail non valide "
                          f"«{NBSP}pas-un-email{NBSP}» ignoré; langue inconnue "
                          f"«{NBSP}klingon{NBSP}» ignorée"],
        ["5", "rejetée", "aucun numéro de téléphone"],
    ]


def test_each_organizer_reads_the_same_report_in_their_own_language(
        app, db, factories, french_import):
    org, admin, job = french_import
    swede = factories.organizer(org, admin)
    swede.language = "sv"
    db.session.commit()
    client = app.test_client()
    login(client, swede)
    report = _report(client, job)
    assert report[0] == ["rad", "status", "orsak"]
    assert report[4] == ["5", "avvisad", "inget telefonnummer"]


@pytest.fixture
def french_client(client, db, factories):
    _org, admin = factories.org_with_admin()
    admin.language = "fr"
    db.session.commit()
    login(client, admin)
    return client


def _upload(client, name: str, content: bytes):
    html = client.get("/console/contacts/import").get_data(as_text=True)
    return client.post("/console/contacts/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token_from(html),
                             "file": (io.BytesIO(content), name)})


def test_a_file_refused_at_upload_is_said_in_french(french_client):
    page = _upload(french_client, "vide.csv", b"").get_data(as_text=True)
    assert "Le fichier est vide." in page and "The file is empty" not in page


def test_a_file_refused_in_the_background_is_said_in_french(french_client, db):
    _upload(french_client, "titres.csv", b"Nom,T\xc3\xa9l\xc3\xa9phone\n")
    job = db.session.scalar(select(ImportJob))
    page = wait_checked(french_client, job.id)
    assert "Le fichier a des noms de colonnes mais aucune ligne." in page
    assert "column names" not in page
