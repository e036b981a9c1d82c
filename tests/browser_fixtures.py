"""Browser fixtures (a pytest plugin loaded by tests/conftest.py, so that every test folder
shares ONE Playwright instance per process): Debian's Chromium against the app on loopback."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import make_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Chromium must not reach for the network (there is none but loopback here).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@dataclass
class LiveServer:
    app: Flask
    url: str


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(tmp_path, app_overrides):
    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite'}", tmp_path / "instance",
                   TESTING=False, **app_overrides)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, live_server, **context_args):
    """A page in a fresh context that collects console and page errors in `console_errors`
    (a CSP violation shows there). Close its `.context` when done."""
    context = browser.new_context(base_url=live_server.url, **context_args)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    return page


def loaded(page):
    """`page` once its stylesheets and deferred scripts (htmx) are in, as a person sees it
    before typing: a field filled earlier fires events no script listens to yet, a width read
    earlier measures the unstyled page."""
    page.wait_for_load_state("load")
    return page


def page_width(page) -> int:
    """The page's laid-out width once its stylesheets have loaded (a long path in a cell
    overflowed the unstyled page)."""
    return loaded(page).evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def phone_page(browser, live_server):
    """A page in a fresh phone-sized context that collects console and CSP errors."""
    page = open_page(browser, live_server, **PHONE)
    yield page
    page.context.close()
