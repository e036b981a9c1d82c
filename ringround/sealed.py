"""Job arguments that must not rest readable where jobs wait or fail: the queue's storage
and the failed-jobs page (a texted sign-in code is one: whoever reads it within its ten
minutes could sign in as the volunteer). Sealed with Fernet (authenticated encryption) under
a key derived from SECRET_KEY (`keys.job_seal_key`)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken

from ringround.keys import app_keys


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(app_keys().job_seal))


def seal(text: str) -> str:
    """`text`, sealed: readable again only with this instance's SECRET_KEY."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(token: str) -> str | None:
    """The sealed text, or None when it was not sealed under this SECRET_KEY (changed since,
    or never sealed)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
