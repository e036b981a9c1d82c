"""Benchmark: volunteers joining through one link, and sign-ups, through the real HTTP views.

    python bench/join_flow.py --volunteers 200 --signups 200

Prints one JSON line: server milliseconds per complete onboarding (the five requests from
opening the link, name and phone, the code page, to joined and sent to the caller app; median
and p95), per sign-up submission, and to make
a join link's QR code as SVG and PNG. SQLite file, simulated SMS in development mode (so the
code is on the page), rate limits off.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

# As a script, bench/ comes first on sys.path, where queue.py (the queue benchmark) would
# shadow the standard library's `queue`: put the project root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CODE = re.compile(r'class="sim-code">(\d{6})<')


def _post(client, url: str, data: dict):
    token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)
    return client.post(url, data={**data, "csrf_token": token})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--signups", type=int, default=200)
    args = parser.parse_args()

    from ringround import create_app
    from ringround.accounts import create_organization, create_password_user
    from ringround.enrollment import create_join_link, join_path
    from ringround.extensions import db
    from ringround.models import Operation
    from ringround.signup_forms import save_signup_form
    from sharing.qr import qr_png, qr_svg

    tmp = Path(tempfile.mkdtemp())
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "DEV_SHOW_CODES": True, "PUBLIC_BASE_URL": "http://localhost",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}"},
                     instance_path=str(tmp / "instance"))
    with app.app_context():
        db.create_all()
        admin = create_password_user(db.session, email="a@example.org",
                                     password="bench-password-1", display_name="A")
        org = create_organization(db.session, name="Bench", admin=admin)
        operation = Operation(organization_id=org.id, name="Bench calls")
        db.session.add(operation)
        db.session.flush()
        _link, token = create_join_link(db.session, org=org, actor=admin, operation=operation)
        form = save_signup_form(db.session, org=org, actor=admin, title="Bench form",
                                fields={"first_name": "required", "phone": "required"},
                                consent_text="Call me.", tags=["bench"],
                                operation_id=operation.id)
        db.session.commit()
        slug = form.slug
        url = "https://calls.example.org" + join_path(token)
        started = time.perf_counter()
        for _ in range(50):
            qr_svg(url)
        svg_ms = (time.perf_counter() - started) * 1000 / 50
        started = time.perf_counter()
        for _ in range(50):
            qr_png(url)
        png_ms = (time.perf_counter() - started) * 1000 / 50

    joins = []
    for n in range(args.volunteers):
        client = app.test_client()
        started = time.perf_counter()
        _post(client, join_path(token), {"name": f"V{n}", "phone": f"+1202555{n % 10000:04d}"})
        page = client.get("/j/verify").get_data(as_text=True)
        done = _post(client, "/j/verify", {"code": CODE.search(page).group(1)})
        assert done.status_code == 302 and "/call/" in done.location, done.status_code
        joins.append((time.perf_counter() - started) * 1000)
    signups = []
    client = app.test_client()
    for n in range(args.signups):
        started = time.perf_counter()
        done = _post(client, f"/s/{slug}", {"first_name": f"S{n}", "consent": "y",
                                            "phone": f"+1617555{n % 10000:04d}"})
        assert done.status_code == 302, done.status_code
        signups.append((time.perf_counter() - started) * 1000)

    def p95(values):
        return sorted(values)[int(len(values) * 0.95) - 1]

    print(json.dumps({
        "volunteers": args.volunteers, "join_ms_median": round(statistics.median(joins), 1),
        "join_ms_p95": round(p95(joins), 1), "signups": args.signups,
        "signup_ms_median": round(statistics.median(signups), 1),
        "signup_ms_p95": round(p95(signups), 1), "qr_svg_ms": round(svg_ms, 2),
        "qr_png_ms": round(png_ms, 2),
    }))


if __name__ == "__main__":
    main()
