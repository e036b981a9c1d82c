"""QR codes decode, with a real decoder, to exactly the link they stand for."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from sharing.qr import qr_png, qr_svg
from tests.sharing.conftest import sign_in


def _decode_png(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def test_png_of_a_long_link_decodes_exactly():
    link = "https://calls.example.org/j/" + "AbC-_9" * 4
    assert _decode_png(qr_png(link)) == [link]


def test_svg_has_no_inline_styles_or_scripts():
    svg = qr_svg("https://calls.example.org/j/abc").decode()
    assert "<svg" in svg and "style=" not in svg and "<script" not in svg


def test_join_link_png_decodes_to_the_exact_join_link(client, world):
    sign_in(client, world.owner)
    response = client.get(f"/links/{world.link.id}/qr.png")
    assert response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert _decode_png(response.data) == [f"http://localhost/j/{world.token}"]


def test_qr_downloads_are_attachments(client, world):
    sign_in(client, world.owner)
    response = client.get(f"/links/{world.link.id}/qr.svg?download=1")
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="join-link-{world.link.id}.svg"'


def test_links_use_the_public_base_url(app, client, world):
    app.config["PUBLIC_BASE_URL"] = "https://calls.example.org"
    sign_in(client, world.owner)
    response = client.get(f"/links/{world.link.id}/qr.png")
    assert _decode_png(response.data) == [f"https://calls.example.org/j/{world.token}"]


def test_sign_up_form_png_decodes_to_its_public_page(client, world):
    sign_in(client, world.organizer)
    response = client.get(f"/console/signup-forms/{world.form.id}/qr.png")
    assert _decode_png(response.data) == [f"http://localhost/s/{world.form.slug}"]


def test_poster_page_has_title_instructions_qr_and_short_link(client, world):
    sign_in(client, world.owner)
    html = client.get(f"/links/{world.link.id}/poster").get_data(as_text=True)
    assert "Call with us: Rent strike calls" in html
    assert "Scan with your phone camera" in html
    assert f'src="/links/{world.link.id}/qr.svg"' in html
    assert f"http://localhost/j/{world.token}" in html
    assert "style=" not in html and "<script>" not in html
