"""The installable parts of the caller app: manifest, icons, service worker, weight budget."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_names_the_app_and_its_icons(client):
    response = client.get("/static/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"] and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#") and manifest["start_url"] == "/call/"
    sizes = {}
    for icon in manifest["icons"]:
        if icon["type"] != "image/png":
            continue
        image = client.get(icon["src"])
        assert image.status_code == 200
        with Image.open(io.BytesIO(image.data)) as png:
            assert f"{png.width}x{png.height}" == icon["sizes"]
            sizes[icon["sizes"]] = png.format
    assert sizes == {"192x192": "PNG", "512x512": "PNG"}


def test_service_worker_is_served_from_the_root_with_a_content_version(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    script = response.get_data(as_text=True)
    assert "__VERSION__" not in script and "ringround-static-" in script
    # Everything it precaches exists.
    for path in ("/vendor/htmx.min.js", "/static/css/caller.css", "/static/js/caller.js"):
        assert path in script
        assert client.get(path).status_code == 200


def test_caller_javascript_and_css_fit_the_50_kb_budget():
    spec = importlib.util.spec_from_file_location("pwa_weight", ROOT / "bench" / "pwa_weight.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sizes = bench.weights()
    js_css = sum(size for name, size in sizes.items() if name.endswith((".js", ".css")))
    assert sizes["htmx.min.js"] > 10_000  # htmx is counted, not forgotten
    assert js_css <= 50 * 1024
