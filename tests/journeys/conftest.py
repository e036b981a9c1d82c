"""Journey fixtures: the real app served on loopback (a werkzeug server thread over a fresh
SQLite file and instance folder, as `live_server` in tests/browser_fixtures, but one per test
module so that a module's journeys share the world its organizer built through the pages),
desktop and phone pages, and `assert_accessible`, which runs axe-core on the page a person is
looking at.

axe is injected with `page.evaluate` of `node_modules/axe-core/axe.min.js`: Playwright evaluates
through the DevTools protocol, which the page's Content-Security-Policy does not govern, so the
journey itself keeps running under the app's real strict CSP (no `bypass_csp`, no inline
`<script>` added to the page).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser_fixtures import PHONE, LiveServer, open_page
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SUMMARY = ROOT / "test-artifacts" / "axe-summary.json"
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "timezone_id": "America/New_York"}
PHONE_TOUCH = {**PHONE, "viewport": {"width": 390, "height": 844}}
FAILING_IMPACTS = ("serious", "critical")
# One id per test run, shared by the xdist workers of a run: the summary starts afresh when it
# was written by another run, so pages no longer visited do not linger in it.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/journeys/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.journey)
            # A module's tests share one world: keep them on one xdist worker (--dist loadgroup).
            item.add_marker(pytest.mark.xdist_group(f"journeys-{item.module.__name__}"))


def _axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (axe-core is a dev dependency)")
    return AXE_JS.read_text(encoding="utf-8")


def _record(name: str, counts: dict[str, int]) -> None:
    """Merge this page's counts into test-artifacts/axe-summary.json (page -> impact -> n)."""
    SUMMARY.parent.mkdir(exist_ok=True)
    with (SUMMARY.parent / ".axe-summary.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers share the file
        run = SUMMARY.with_suffix(".run")
        fresh = SUMMARY.exists() and run.exists() and run.read_text() == RUN_ID
        summary = json.loads(SUMMARY.read_text()) if fresh else {}
        run.write_text(RUN_ID)
        summary[name] = counts
        SUMMARY.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def assert_accessible(page, name: str, record: bool = True) -> dict[str, int]:
    """Run axe-core (WCAG 2.x A and AA rules) on the page as it is now; record the violations
    by impact under `name`; fail on any serious or critical one, naming rule and elements."""
    page.wait_for_load_state()
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate("""() => axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                        'best-practice']},
        resultTypes: ['violations']})""")
    violations = result["violations"]
    counts = {impact: 0 for impact in ("minor", "moderate", "serious", "critical")}
    for violation in violations:
        counts[violation["impact"] or "minor"] += len(violation["nodes"])
    if record:
        _record(name, counts)
    bad = [f"{v['id']} ({v['impact']}): {v['help']} -> "
           + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
           for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not bad, f"axe on {name} ({page.url}):\n" + "\n".join(bad)
    return counts


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app on a fresh SQLite file and instance folder, served for one test module."""
    folder = tmp_path_factory.mktemp("journey")
    # Every person of a journey comes from 127.0.0.1, like a whole event behind one router:
    # the per-address limits on codes would stop the tenth volunteer.
    app = make_app(f"sqlite:///{folder / 'live.sqlite'}", folder / "instance", TESTING=False,
                   CODE_SEND_RATE_LIMIT="200 per minute", CODE_CHECK_RATE_LIMIT="200 per minute")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.journey_failed = report.failed
    return report


def _page(request, browser, live_server, **context_args):
    page = open_page(browser, live_server, **context_args)
    yield page
    if getattr(request.node, "journey_failed", False):  # what the person saw last
        SUMMARY.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SUMMARY.parent / f"{request.node.name}.png"), full_page=True)
    page.context.close()


@pytest.fixture
def desktop_page(request, browser, live_server):
    yield from _page(request, browser, live_server, **DESKTOP)


@pytest.fixture
def phone_touch_page(request, browser, live_server):
    """A 390x844 phone with touch, collecting console and CSP errors."""
    yield from _page(request, browser, live_server, **PHONE_TOUCH)


@pytest.fixture(scope="module")
def world(browser, live_server, tmp_path_factory):
    """What an organizer builds through the pages on a desktop, once per module: the
    organization, the messy import, a live operation, an agent link and an owner link.
    `organizer` is the signed-in browser state, to open more organizer pages with."""
    from tests.journeys import walk

    page = open_page(browser, live_server, **DESKTOP)
    walk.set_up_organization(page)
    walk.import_messy_csv(page, tmp_path_factory.mktemp("files"))
    dashboard = walk.build_operation(page)
    agent_url = walk.make_link(page, "Caller (agent)", "Callers at the tenants' meeting")
    walk.back_to_dashboard(page, dashboard)
    owner_url = walk.make_link(page, "Owner (can edit and see results)", "For Bea, co-lead")
    assert page.console_errors == []
    built = {"dashboard": dashboard, "agent_url": agent_url, "owner_url": owner_url,
             "operation_id": int(dashboard.rstrip("/").split("/")[-1]),
             "organizer": page.context.storage_state()}
    page.context.close()
    return built


@pytest.fixture
def organizer_page(request, browser, live_server, world):
    """The organizer of `world`, signed in, on a desktop."""
    yield from _page(request, browser, live_server, storage_state=world["organizer"], **DESKTOP)
