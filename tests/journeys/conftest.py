"""Journey fixtures: the real app served on loopback (`live_server` from tests/browser_fixtures,
a werkzeug server thread over a fresh SQLite file and instance folder), desktop and phone
pages, and `assert_accessible`, which runs axe-core on the page a person is looking at.

axe is injected with `page.evaluate` of `node_modules/axe-core/axe.min.js`: Playwright evaluates
through the DevTools protocol, which the page's Content-Security-Policy does not govern, so the
journey itself keeps running under the app's real strict CSP (no `bypass_csp`, no inline
`<script>` added to the page).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from tests.browser_fixtures import PHONE, open_page

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SUMMARY = ROOT / "test-artifacts" / "axe-summary.json"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE_TOUCH = {**PHONE, "viewport": {"width": 390, "height": 844}}
FAILING_IMPACTS = ("serious", "critical")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/journeys/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.journey)


def _axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (axe-core is a dev dependency)")
    return AXE_JS.read_text(encoding="utf-8")


def _record(name: str, counts: dict[str, int]) -> None:
    """Merge this page's counts into test-artifacts/axe-summary.json (page -> impact -> n)."""
    SUMMARY.parent.mkdir(exist_ok=True)
    with (SUMMARY.parent / ".axe-summary.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers share the file
        summary = json.loads(SUMMARY.read_text()) if SUMMARY.exists() else {}
        summary[name] = counts
        SUMMARY.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def assert_accessible(page, name: str, record: bool = True) -> dict[str, int]:
    """Run axe-core (WCAG 2.x A and AA rules) on the page as it is now; record the violations
    by impact under `name`; fail on any serious or critical one, naming rule and elements."""
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


@pytest.fixture(scope="session", autouse=True)
def _fresh_axe_summary():
    """Each run writes its own summary (left to the workers' shared file under xdist)."""
    if SUMMARY.exists() and "PYTEST_XDIST_WORKER" not in os.environ:
        SUMMARY.unlink()


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
