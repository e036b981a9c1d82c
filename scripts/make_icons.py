"""Render the caller app's PNG icons (192 and 512 px) from pwa/static/icons/icon.svg.

Chromium draws the SVG exactly as browsers do; run it again after changing the SVG:
    .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "pwa" / "static" / "icons"
SIZES = (192, 512)


def main() -> None:
    svg = (ICONS / "icon.svg").read_bytes()
    data_url = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for size in SIZES:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(
                f'<html><body style="margin:0"><img src="{data_url}" '
                f'width="{size}" height="{size}"></body></html>'
            )
            page.screenshot(path=str(ICONS / f"icon-{size}.png"), omit_background=True)
            page.close()
        browser.close()
    for size in SIZES:
        print(ICONS / f"icon-{size}.png")


if __name__ == "__main__":
    main()
