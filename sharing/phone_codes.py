"""Sign-in codes by text: whether this instance verifies phones with them, and sending one
(through the core's texting port, `ringround.texting`). In development mode (DEV_SHOW_CODES
with the simulator) the code is also kept for the page to show."""

from __future__ import annotations

from flask import current_app, session
from flask_babel import gettext as _

from ringround.texting import texting

SIMULATED_CODE_KEY = "simulated_code"


def sms_codes() -> bool:
    """Whether phone numbers are verified by texted codes: with a real provider, or with the
    simulator in development mode. Otherwise join links enroll without a code."""
    return not texting().is_simulated() or current_app.config.get("DEV_SHOW_CODES", False)


def _code_text(code: str) -> str:
    return _("Your Ringround code is %(code)s. It expires in 10 minutes.", code=code)


def send_code(phone: str, code: str, *, later: bool = False) -> bool:
    """Text the code (by a queue job when `later`, so that the answer takes as long whether
    or not a text goes out). Only development mode also puts it on the page."""
    if later:
        texting().send_later(phone, _code_text(code))
    else:
        try:
            texting().send_now(phone, _code_text(code))
        except Exception:  # noqa: BLE001 - any provider failure means "could not text"
            current_app.logger.warning("sending a verification code failed")
            return False
    if texting().is_simulated() and current_app.config.get("DEV_SHOW_CODES"):
        session[SIMULATED_CODE_KEY] = code
    else:
        session.pop(SIMULATED_CODE_KEY, None)
    return True
