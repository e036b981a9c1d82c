"""Call-in codes: the keypad code a volunteer enters to start a shift by phone."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import CallInCode
from ringround.optouts import optout_key

CALL_IN_CODE_DIGITS = 6


def _code_hmac(code: str) -> str:
    return hmac.new(optout_key(), b"call-in:" + code.encode(), hashlib.sha256).hexdigest()


def issue_call_in_code(session: Session, operation_id: int, user_id: int) -> str:
    """A new keypad code for this volunteer in this operation (replacing any earlier one).

    Only a keyed hash is stored, so the code is shown once, when it is issued."""
    row = session.scalar(select(CallInCode).where(CallInCode.operation_id == operation_id,
                                                  CallInCode.user_id == user_id))
    while True:
        code = f"{secrets.randbelow(10 ** CALL_IN_CODE_DIGITS):0{CALL_IN_CODE_DIGITS}d}"
        digest = _code_hmac(code)
        if session.scalar(select(CallInCode.id).where(CallInCode.code_hmac == digest)) is None:
            break
    if row is None:
        session.add(CallInCode(operation_id=operation_id, user_id=user_id, code_hmac=digest))
    else:
        row.code_hmac = digest
    session.flush()
    return code


def find_call_in_code(session: Session, code: str) -> tuple[int, int] | None:
    """(operation id, user id) for a keyed-in code, or None."""
    if not code.isdigit() or len(code) != CALL_IN_CODE_DIGITS:
        return None
    row = session.scalar(select(CallInCode).where(CallInCode.code_hmac == _code_hmac(code)))
    return (row.operation_id, row.user_id) if row else None
