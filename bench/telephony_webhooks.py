"""Benchmark: how fast the signed telephony webhooks answer, on SQLite (in-process WSGI).

    python bench/telephony_webhooks.py [--texts 300] [--calls 100]

Sends N signed inbound texts (half HELP, half STOP from distinct numbers) and N bridged-call
status callbacks (each once, then replayed), and prints one JSON line: requests, median and
p95 latency in milliseconds per webhook kind, and requests per second overall.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# As a script, bench/ comes first on sys.path, where queue.py (the queue benchmark) would
# shadow the standard library's `queue`: put the project root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

PUBLIC = "https://calls.example.org"
CAMPAIGN = "+15005550006"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()

    from ringround import create_app
    from ringround.extensions import db
    from ringround.models import CallLeg, LegKind, Organization

    tmp = Path(tempfile.mkdtemp())
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}",
                      "SECRET_KEY": "bench", "PUBLIC_BASE_URL": PUBLIC,
                      "JOBS_IMMEDIATE": True, "JOB_QUEUE_URL": "memory://", "TESTING": True},
                     instance_path=str(tmp))
    provider = app.extensions["telephony"]
    with app.app_context():
        db.create_all()
        org = Organization(name="Bench", slug="bench", campaign_number=CAMPAIGN,
                           help_text="Bench help")
        db.session.add(org)
        db.session.flush()
        legs = [CallLeg(kind=LegKind.BRIDGE_AGENT, token=f"tok{i}", organization_id=org.id)
                for i in range(args.calls)]
        db.session.add_all(legs)
        db.session.commit()
    client = app.test_client()
    timings: dict[str, list[float]] = {"sms": [], "call_status": [], "replay": []}

    def post(kind: str, path: str, params: dict) -> None:
        signature = provider.sign(PUBLIC + path, params)
        start = time.perf_counter()
        response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        timings[kind].append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 204), response.status_code

    began = time.perf_counter()
    for i in range(args.texts):
        post("sms", "/telephony/hooks/sms", {
            "MessageSid": f"SM{i:032d}", "From": f"+1617555{i:04d}", "To": CAMPAIGN,
            "Body": "HELP" if i % 2 else "STOP"})
    for i in range(args.calls):
        params = {"CallSid": f"CA{i:032d}", "CallStatus": "completed", "From": CAMPAIGN,
                  "To": "+14155550111"}
        post("call_status", f"/telephony/hooks/voice/status/tok{i}", params)
        post("replay", f"/telephony/hooks/voice/status/tok{i}", params)
    elapsed = time.perf_counter() - began
    total = sum(len(v) for v in timings.values())
    print(json.dumps({
        "requests": total, "requests_per_s": round(total / elapsed, 1),
        **{f"{kind}_median_ms": round(statistics.median(v), 2) for kind, v in timings.items()},
        **{f"{kind}_p95_ms": round(percentile(v, 0.95), 2) for kind, v in timings.items()},
    }))


if __name__ == "__main__":
    main()
