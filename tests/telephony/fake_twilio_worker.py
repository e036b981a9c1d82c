"""`python -m tests.telephony.fake_twilio_worker`: the real `flask worker` command, in its own
process, with Twilio's API replaced by a fake that appends each text it accepts to the file
named by FAKE_TWILIO_LOG (one line per text, on disk before it answers), so that a test can
kill -9 the process and count what the "provider" got. Settings come from the environment,
as for `flask --app wsgi worker`."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time

from flask.cli import FlaskGroup
from twilio.http.response import Response as TwilioResponse

from tests.telephony.conftest import CapturingHttpClient


class LoggingTwilio(CapturingHttpClient):
    """Accepts every text; the log line is on disk before the answer (as a text is at the
    provider before the worker learns its SID), and the answer comes a little late."""

    def __init__(self, path: str):
        super().__init__()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        sid = "SM" + secrets.token_hex(16)
        os.write(self.fd, (json.dumps({"sid": sid, "body": (data or {}).get("Body")})
                           + "\n").encode())
        os.fsync(self.fd)
        time.sleep(0.02)
        return TwilioResponse(201, json.dumps({"sid": sid, "status": "queued"}))


def main() -> None:
    from ringround import create_app

    app = create_app({"TWILIO_HTTP_CLIENT": LoggingTwilio(os.environ["FAKE_TWILIO_LOG"])})
    FlaskGroup(create_app=lambda: app).main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
