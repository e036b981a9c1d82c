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
    *[f"Ana{n};Lima;617 555 01{n:02d};;Somerville;no" for n in range(10, 40)],
]) + "\r\n"
CREATED, MERGED, REJECTED = 34, 1, 2
READY = CREATED - 1  # José has voted: the exclusion removes him


def decode_qr(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def set_up_organization(page) -> None:
    """First run: the organization and its admin."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    assert_accessible(page, "setup")
    page.get_by_label("Organization name").fill("Société des Locataires")
    # Country and time zone are guessed from the browser's zone (an organizer in Boston).
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    expect(page.get_by_label("Country")).to_have_value("US")
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
    page.get_by_label("Tags for every imported contact").fill("spring-2026")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Import finished")).to_be_visible(timeout=20_000)
    summary = page.locator(".import-summary")
    expect(summary.locator('[data-key="created"]')).to_have_text(str(CREATED))
    expect(summary.locator('[data-key="merged"]')).to_have_text(str(MERGED))
    expect(summary.locator('[data-key="rejected"]')).to_have_text(str(REJECTED))
    assert_accessible(page, "import: report")


def next_step(page, title: str) -> None:
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#step-title")).to_contain_text(title)
    assert_accessible(page, f"wizard: {title}")


OPERATION = "Printemps des locataires"
SCRIPT = "Hi {first_name}, this is the tenants' society calling."
CUSTOM_CODE = "Signed the petition"


def build_operation(page) -> str:
    """Every wizard step, through the pages; returns the operation's dashboard URL."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operations").click()
    assert_accessible(page, "operations")
    page.get_by_role("button", name="New operation").click()
    expect(page.locator("#step-title")).to_contain_text("1. Mode")
    assert_accessible(page, "wizard: 1. Mode")
    page.get_by_label("Guided: one question at a time").check()
    next_step(page, "2. Who to call")
    page.get_by_label("A filter over your contacts").check()
    page.get_by_label("With any of these tags").fill("spring-2026")
    next_step(page, "3. Basics")
    page.get_by_label("Name").fill(OPERATION)
    page.get_by_label("Starts").fill("2026-01-01T00:00")
    page.get_by_label("Ends").fill("2036-01-01T00:00")
    page.get_by_label("Call from").fill("00:00")
    page.get_by_label("Call until").fill("23:59")
    next_step(page, "4. Call method")
    next_step(page, "5. Script and questions")
    page.get_by_role("link", name="Preview Mobilize").click()
    expect(page.get_by_text("Preview: Mobilize")).to_be_visible()
    assert_accessible(page, "wizard: template preview")
    page.get_by_role("button", name="Use this template").click()
    expect(page.locator("#question-q1")).to_be_visible()
    page.get_by_label("Script", exact=True).fill(SCRIPT)
    next_step(page, "6. Results and retries")
    # A custom result code, one retry unticked and one ticked.
    page.get_by_label("New disposition").fill(CUSTOM_CODE)
    page.get_by_label("In the group").select_option("contacted")
    page.get_by_label("Try again after Busy", exact=True).uncheck()
    page.get_by_label("Try again after No answer", exact=True).check()
    page.get_by_label("More attempts for No answer", exact=True).fill("2")
    page.get_by_label("Minutes between attempts for No answer", exact=True).fill("60")
    next_step(page, "7. Exclusions and goals")
    page.get_by_label("Remove targets who").select_option("field_equals")
    page.get_by_label("Field", exact=True).select_option(label="Voted")
    page.get_by_label("Value", exact=True).fill("yes")
    page.locator(".new-rule").get_by_label("Reason shown").fill("Already voted")
    next_step(page, "8. Fields")
    page.locator("#vis_city").select_option("visible")
    page.get_by_label("Highlight City").check()
    page.locator("#vis_email").select_option("hidden")
    next_step(page, "9. People")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("#step-title")).to_contain_text("10. Review")
    expect(page.locator(".review")).to_contain_text(f"{CREATED} contacts match now")
    assert_accessible(page, "wizard: 10. Review")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("The operation is live")).to_be_visible()
    assert_accessible(page, "operation dashboard")
    return page.url


def make_link(page, role_label: str, name: str) -> str:
    """From the operation's dashboard: make a join link, check its QR code; its URL."""
    page.get_by_role("link", name="Join links and QR").click()
    expect(page.get_by_role("heading", name="People and sharing")).to_be_visible()
    assert_accessible(page, "operation people and sharing")
    page.get_by_label("They join as").select_option(label=role_label)
    page.get_by_text("Options: expiry, limit, name").click()
    page.get_by_label("Name of the link (for you)").fill(name)
    page.get_by_role("button", name="Make a join link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    assert_accessible(page, "join link")
    url = page.get_by_label("The link").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/j/[\w-]{20,}", url)
    page.wait_for_function("document.querySelector('img.qr').complete")
    assert decode_qr(page.locator("img.qr").screenshot()) == [url]
    return url


def back_to_dashboard(page, dashboard_url: str) -> None:
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(OPERATION)


def press(page, locator) -> None:
    """A tap on a touch screen, a click elsewhere."""
    if page.evaluate("navigator.maxTouchPoints > 0"):
        locator.tap()
    else:
        locator.click()


def join(page, url: str, name: str, number: str) -> None:
    """A volunteer opens a join link, gives name and number, and is in (no SMS provider here:
    the link itself enrolls, docs/sharing.md)."""
    page.goto(url)
    assert_accessible(page, "join")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your mobile number (optional)").fill(number)
    press(page, page.get_by_role("button", name=re.compile(r"^Join")))


def card_target(page) -> str:
    return page.locator("#call form.result-form").get_attribute("data-target")


def record(page, outcome: str, detail: str | None = None, answers=()) -> None:
    """Tap an outcome (and its detail, and answers), save, and wait for the next card."""
    before = card_target(page)
    page.get_by_text(outcome, exact=True).tap()
    if detail:
        page.get_by_label(detail, exact=True).check()
    for question, answer in answers:
        page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="Save and call the next person").tap()
    expect(page.locator("#call form.result-form")).not_to_have_attribute("data-target", before)
