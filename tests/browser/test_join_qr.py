"""QR codes rendered by Chromium (SVG on screen, on the full-screen page and on the printed
poster) decode with zxing-cpp to exactly the join link."""

from __future__ import annotations

import base64
import io
import re

import zxingcpp
from PIL import Image

from sharing.qr import qr_svg
from tests.factories import PASSWORD
from tests.sharing.conftest import build_world


def _decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_svg_rendered_by_a_browser_decodes_exactly(browser):
    link = "https://calls.example.org/j/Zq3-_x9Yb2Lk0PdW7sTa1Q"
    context = browser.new_context(viewport={"width": 500, "height": 500})
    page = context.new_page()
    data = base64.b64encode(qr_svg(link)).decode()
    page.set_content(f'<img id="qr" width="400" height="400" '
                     f'src="data:image/svg+xml;base64,{data}">')
    page.wait_for_function("document.getElementById('qr').complete")
    assert _decode(page.locator("#qr").screenshot()) == [link]
    context.close()


def _signed_in_owner(browser, live_server, **context_args):
    with live_server.app.app_context():
        world = build_world()
        details = (world.owner.email, world.link.id, world.token)
    context = browser.new_context(base_url=live_server.url, **context_args)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(details[0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # An owner outside the organization's staff lands in the caller app.
    page.wait_for_url(re.compile(r"/call/"))
    return context, page, details[1], f"{live_server.url}/j/{details[2]}"


def test_the_full_screen_qr_decodes_to_the_join_link(browser, live_server):
    context, page, link_id, url = _signed_in_owner(
        browser, live_server, viewport={"width": 800, "height": 900})
    page.goto(f"/links/{link_id}/screen")
    qr = page.locator("img.qr-full")
    page.wait_for_function("document.querySelector('img.qr-full').complete")
    box = qr.bounding_box()
    assert box["width"] >= 600  # fills the screen for scanning from across a table
    assert _decode(qr.screenshot()) == [url]
    assert page.get_by_text(url).is_visible()
    context.close()


def test_the_printed_poster_decodes_to_the_join_link(browser, live_server):
    context, page, link_id, url = _signed_in_owner(
        browser, live_server, viewport={"width": 794, "height": 1123})
    page.goto(f"/links/{link_id}/poster")
    page.emulate_media(media="print")
    page.wait_for_function("document.querySelector('img.poster-qr').complete")
    assert not page.get_by_role("button", name="Print").is_visible()
    assert _decode(page.locator("img.poster-qr").screenshot()) == [url]
    pdf = page.pdf(format="A4", print_background=True)
    # One A4 page: title, instructions, QR code and short link fit together.
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    context.close()
