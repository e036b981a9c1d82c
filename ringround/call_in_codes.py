"""Call-in codes: the keypad code a volunteer enters to start a shift by phone.

A code belongs to one volunteer in one operation and is stored only as a keyed hash, so it is
shown once, when issued (by the volunteer on the call-in page, or by an organizer or owner on
the operation's people page, to read out). It lasts `CODE_LIFETIME` from when it was issued or
last started a shift (a volunteer told a code on Monday may call on Saturday; one who calls
every week keeps theirs), never past the operation's end, and works only while the operation
takes calls by phone (`call_in_open`). Keyed codes go through `enter_code`, which refuses to
check them past the failure limits of `ringround.call_in_limits`."""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.audit import record_audit
from ringround.call_in_limits import CodeLimits, count_failure, instance_open, number_open
from ringround.models import (
    CallInCode,
    Operation,
    OperationMember,
    OperationState,
    User,
    utcnow,
)
from ringround.optouts import optout_key

CALL_IN_CODE_DIGITS = 6
CODE_LIFETIME = timedelta(days=14)
log = logging.getLogger(__name__)


class CallInError(Exception):
    """A code that cannot be issued; the message is fit to show."""


class CodeOutcome(enum.StrEnum):
    STARTED = "started"  # a live code of a member: the shift starts
    WRONG = "wrong"  # no such code (or not one the caller may use now)
    EXPIRED = "expired"  # the code was right once: expired, or the operation takes no calls
    LOCKED = "locked"  # too many wrong codes: not checked at all


@dataclass(frozen=True)
class CodeEntry:
    """What a keyed code leads to; the operation and volunteer when a shift starts."""

    outcome: CodeOutcome
    operation_id: int | None = None
    user_id: int | None = None


def _code_hmac(code: str) -> str:
    return hmac.new(optout_key(), b"call-in:" + code.encode(), hashlib.sha256).hexdigest()


def call_in_open(operation: Operation) -> bool:
    """Whether volunteers may call in for this operation: it allows the campaign line and
    has not ended."""
    return bool(operation.allow_campaign_line) and operation.state is not OperationState.ENDED


def _expiry(operation: Operation, now: datetime) -> datetime:
    until = now + CODE_LIFETIME
    return min(until, operation.ends_at) if operation.ends_at else until


def issue_call_in_code(session: Session, operation_id: int, user_id: int, *,
                       actor_id: int | None = None, now: datetime | None = None) -> str:
    """A new keypad code for this member of the operation (replacing any earlier one),
    audited as issued by `actor_id` (the volunteer themselves when None)."""
    operation = session.get(Operation, operation_id)
    if operation is None or not call_in_open(operation):
        raise CallInError(_("This operation does not take calls by phone."))
    if session.scalar(select(OperationMember.id).where(
            OperationMember.operation_id == operation_id,
            OperationMember.user_id == user_id)) is None:
        raise CallInError(_("This person is not in this operation."))
    now = now or utcnow()
    row = session.scalar(select(CallInCode).where(CallInCode.operation_id == operation_id,
                                                  CallInCode.user_id == user_id))
    while True:
        code = f"{secrets.randbelow(10 ** CALL_IN_CODE_DIGITS):0{CALL_IN_CODE_DIGITS}d}"
        digest = _code_hmac(code)
        if session.scalar(select(CallInCode.id).where(CallInCode.code_hmac == digest)) is None:
            break
    if row is None:
        row = CallInCode(operation_id=operation_id, user_id=user_id, code_hmac=digest)
        session.add(row)
    row.code_hmac, row.created_at, row.expires_at = digest, now, _expiry(operation, now)
    session.flush()
    record_audit(session, operation.organization_id, actor_id or user_id, "call_in_code.issued",
                 "user", user_id, {"operation_id": operation_id})
    return code


def code_expiry(session: Session, operation_id: int, user_id: int) -> datetime | None:
    """Until when this volunteer's code for the operation works (None: they have none)."""
    return session.scalar(select(CallInCode.expires_at).where(
        CallInCode.operation_id == operation_id, CallInCode.user_id == user_id))


def find_call_in_code(session: Session, code: str, now: datetime | None = None
                      ) -> tuple[int, int] | None:
    """(operation id, user id) of a live code, or None."""
    row = _row(session, code)
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row.operation_id, row.user_id


def _row(session: Session, code: str) -> CallInCode | None:
    if not code.isdigit() or len(code) != CALL_IN_CODE_DIGITS:
        return None
    return session.scalar(select(CallInCode).where(CallInCode.code_hmac == _code_hmac(code)))


def _judge(session: Session, row: CallInCode | None, now: datetime) -> CodeOutcome:
    if row is None or session.scalar(select(OperationMember.id).where(
            OperationMember.operation_id == row.operation_id,
            OperationMember.user_id == row.user_id)) is None:
        return CodeOutcome.WRONG
    operation = session.get(Operation, row.operation_id)
    if row.expires_at <= now or not call_in_open(operation):
        return CodeOutcome.EXPIRED
    row.expires_at = max(row.expires_at, _expiry(operation, now))  # used: it lasts on
    return CodeOutcome.STARTED


def enter_code(session: Session, code: str, remote: str, limits: CodeLimits,
               now: datetime | None = None) -> CodeEntry:
    """A code keyed on a call from `remote`. Past the calling number's limit of wrong codes
    it is not checked at all; past the instance's, only against the codes of the volunteer
    whose number calls (so they still get in, and strangers' guesses are not checked). A
    wrong or expired code counts against both limits."""
    if not number_open(limits, remote):
        return CodeEntry(CodeOutcome.LOCKED)
    own = None
    if not instance_open(limits):
        own = session.scalar(select(User.id).where(User.phone_e164 == remote)) \
            if remote else None
        if own is None:
            log.warning("call-in: the instance's limit of wrong codes (%s) is reached: only "
                        "volunteers calling from their own number are checked", limits.instance)
            return CodeEntry(CodeOutcome.LOCKED)
    row = _row(session, code)
    if own is not None and row is not None and row.user_id != own:
        row = None
    outcome = _judge(session, row, now or utcnow())
    if outcome is not CodeOutcome.STARTED:
        count_failure(limits, remote)
        return CodeEntry(outcome)
    return CodeEntry(outcome, row.operation_id, row.user_id)
