"""QR codes as SVG and PNG (the `qrcode` package)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(data: str) -> bytes:
    """An SVG QR code (path-based, no inline styles) for `data`."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_png(data: str, box_size: int = 10) -> bytes:
    """A PNG QR code for `data`."""
    code = qrcode.QRCode(box_size=box_size, border=4)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()
