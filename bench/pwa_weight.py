"""Gzipped weight of what a phone downloads for the caller app (budget: JS + CSS <= 50 KB).

Prints one line per asset (`<path> <gzip bytes>`), one JSON line with every figure, and last
`total_gzip_bytes N` (JS, CSS, htmx and the manifest together).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "pwa" / "static"
ASSETS = {
    "htmx.min.js": ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js",
    "js/caller.js": STATIC / "js" / "caller.js",
    "js/sw.js": STATIC / "js" / "sw.js",
    "css/app.css": STATIC / "css" / "app.css",
    "css/caller.css": STATIC / "css" / "caller.css",
    "manifest.webmanifest": STATIC / "manifest.webmanifest",
}
BUDGET_JS_CSS = 50 * 1024


def gzip_size(path: Path) -> int:
    """Bytes of `path` gzipped at the level web servers use by default (6)."""
    return len(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))


def weights() -> dict[str, int]:
    """Gzipped bytes per asset."""
    return {name: gzip_size(path) for name, path in ASSETS.items()}


def main() -> None:
    sizes = weights()
    js_css = sum(size for name, size in sizes.items() if name.endswith((".js", ".css")))
    for name, size in sizes.items():
        print(f"{name} {size}")
    print(json.dumps({"gzip_bytes": sizes, "js_css_gzip_bytes": js_css,
                      "budget_js_css_bytes": BUDGET_JS_CSS,
                      "within_budget": js_css <= BUDGET_JS_CSS}))
    print(f"total_gzip_bytes {sum(sizes.values())}")


if __name__ == "__main__":
    main()
