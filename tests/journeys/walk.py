"""What a person does, step by step, through the pages only: shared by the journeys."""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.journeys.conftest import assert_accessible

ADMIN_EMAIL = "ines@example.org"
PASSWORD = "a good long password"
# A messy export: BOM, CRLF, semicolons, a duplicate, bad rows, non-ASCII names, an extension.
MESSY_CSV = "\ufeff" + "\r\n".join([
    "Prénom;Nom;Téléphone;Email;Ville;Voted",
    "Zoë;Müller;+1 617 555 0101;zoe@example.org;Boston;no",
    "José;Núñez;(617) 555-0102;jose@example.org;Boston;yes",
    "Björk;Ødegaard;+1 907 973 7176 x744;bjork@example.org;Juneau;no",
    "Zoë;Müller;+1 617 555 0101;zoe@example.org;Boston;no",
    "Nobody;Here;not a number;nobody@example.org;Boston;no",
    "Empty;Phone;;empty@example.org;Boston;no",
    "李;伟;617 555 0103;li@example.org;Cambridge;no",
]) + "\r\n"


def decode_qr(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def set_up_organization(page) -> None:
    """First run: the organization and its admin."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    assert_accessible(page, "setup")
    page.get_by_label("Organization name").fill("Société des Locataires")
    page.get_by_label("Your name").fill("Inès")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Société des Locataires")
    assert_accessible(page, "console dashboard")


def sign_in(page, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> None:
    page.goto("/login")
    assert_accessible(page, "login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def import_messy_csv(page, tmp_path) -> None:
    """Upload the messy CSV, check the columns, import, and read the report."""
    path = tmp_path / "members export.csv"
    path.write_bytes(MESSY_CSV.encode("utf-8"))
    page.get_by_role("link", name="Contacts").first.click()
    assert_accessible(page, "contacts (empty)")
    page.get_by_role("link", name="Import contacts").click()
    assert_accessible(page, "import: upload")
    page.get_by_label("Contact file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check columns").click()
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    assert_accessible(page, "import: columns")
    page.get_by_label("Country of national numbers").fill("US")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Import finished")).to_be_visible(timeout=20_000)
    summary = page.locator(".import-summary")
    expect(summary.locator('[data-key="created"]')).to_have_text("4")
    expect(summary.locator('[data-key="merged"]')).to_have_text("1")
    expect(summary.locator('[data-key="rejected"]')).to_have_text("2")
    assert_accessible(page, "import: report")
