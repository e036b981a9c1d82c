"""Join links, phone verification codes and `enroll`: how people get in.

Tokens are 128 bits from `secrets`. The database keeps their SHA-256 (enough for a token
this random) for look-up, and the token sealed with a pad keyed by SECRET_KEY so that owners
can show the same link and QR code again later; the database alone reveals no token.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ringround import phones
from ringround.accounts import normalize_email, role_in
from ringround.audit import record_audit
from ringround.keys import app_keys
from ringround.models import (
    JoinLink,
    JoinLinkUse,
    LinkRole,
    Membership,
    Operation,
    OperationRole,
    OperationState,
    Organization,
    OrgRole,
    PhoneCode,
    User,
    utcnow,
)
from ringround.operation_members import (  # noqa: F401 (members' queries, re-exported)
    Entry,
    admit,
    landing_operation,
    operation_members,
    operation_role,
    search_people,
)

TOKEN_BYTES = 16  # 128 bits
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
CODES_PER_NUMBER = 3  # codes one number may receive ...
CODES_WINDOW = timedelta(minutes=15)  # ... within this window


class EnrollmentError(ValueError):
    """A request that cannot be honoured, with a message fit to show the user."""


class LinkStatus(enum.StrEnum):
    """Whether a join link can still be used, and if not, why."""

    OPEN = "open"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used_up"
    CLOSED = "closed"  # its operation has ended

    @property
    def label(self) -> str:
        """The status as people read it, in the current language."""
        return str(LINK_STATUS_LABELS[self])


LINK_STATUS_LABELS = {
    LinkStatus.OPEN: _l("Works"), LinkStatus.REVOKED: _l("Revoked"),
    LinkStatus.EXPIRED: _l("Expired"), LinkStatus.USED_UP: _l("Used up"),
    LinkStatus.CLOSED: _l("Operation ended"),
}


class RemovedError(EnrollmentError):
    """The person was removed from the link's operation; only an organizer or owner lets them
    back in."""

    def __init__(self) -> None:
        super().__init__(_("An organizer removed you from this operation; "
                           "ask them to add you back."))


class LinkClosedError(EnrollmentError):
    """The link can no longer be used; `status` says why."""

    def __init__(self, status: LinkStatus):
        super().__init__(status.value)
        self.status = status


# ---- tokens ------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def _pad(token_hash: str) -> bytes:
    return hmac.new(app_keys().join_seal, token_hash.encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_token() -> tuple[str, str, str]:
    """A fresh token, its hash, and its sealed form."""
    raw = secrets.token_bytes(TOKEN_BYTES)
    token = _encode(raw)
    digest = hash_token(token)
    sealed = bytes(a ^ b for a, b in zip(raw, _pad(digest), strict=False)).hex()
    return token, digest, sealed


def link_token(link: JoinLink) -> str | None:
    """The token of `link` (to show it again), or None if SECRET_KEY changed since."""
    try:
        sealed = bytes.fromhex(link.token_sealed)
    except ValueError:
        return None
    raw = bytes(a ^ b for a, b in zip(sealed, _pad(link.token_hash), strict=False))
    token = _encode(raw)
    return token if hmac.compare_digest(hash_token(token), link.token_hash) else None


def join_path(token: str) -> str:
    """The short path of a join link."""
    return f"/j/{token}"


# ---- links -------------------------------------------------------------------------------

def create_join_link(
    session: Session, *, org: Organization, actor: User | None, operation: Operation | None = None,
    role: LinkRole | str | None = None, expires_at: datetime | None = None,
    max_uses: int | None = None, label: str = "",
) -> tuple[JoinLink, str]:
    """A new join link and its token (the only time the caller gets it without unsealing)."""
    if operation is not None and operation.organization_id != org.id:
        raise EnrollmentError(_("That operation belongs to another organization."))
    role = LinkRole(role) if role else (LinkRole.AGENT if operation else LinkRole.ORGANIZER)
    allowed = {LinkRole.AGENT, LinkRole.OWNER} if operation else {LinkRole.ORGANIZER}
    if role not in allowed:
        raise EnrollmentError(_("This kind of link cannot give that role."))
    if max_uses is not None and max_uses < 1:
        raise EnrollmentError(_("The maximum number of uses must be at least 1."))
    if expires_at is not None and expires_at <= utcnow():
        raise EnrollmentError(_("The expiry must be in the future."))
    token, digest, sealed = new_token()
    link = JoinLink(
        organization_id=org.id, operation_id=operation.id if operation else None, role=role,
        token_hash=digest, token_sealed=sealed, expires_at=expires_at, max_uses=max_uses,
        label=label.strip()[:120], created_by_id=actor.id if actor else None,
    )
    session.add(link)
    session.flush()
    record_audit(session, org.id, actor.id if actor else None, "join_link.created", "join_link",
                 link.id, {"role": role.value, "operation_id": link.operation_id})
    return link, token


def find_link(session: Session, token: str) -> JoinLink | None:
    """The link a token opens, whatever its status; None for an unknown or malformed token."""
    if not TOKEN_RE.match(token or ""):
        return None
    return session.scalar(select(JoinLink).where(JoinLink.token_hash == hash_token(token)))


def link_status(link: JoinLink, now: datetime | None = None) -> LinkStatus:
    now = now or utcnow()
    if link.revoked_at is not None:
        return LinkStatus.REVOKED
    if link.expires_at is not None and link.expires_at <= now:
        return LinkStatus.EXPIRED
    if link.max_uses is not None and link.uses >= link.max_uses:
        return LinkStatus.USED_UP
    if link.operation is not None and link.operation.state == OperationState.ENDED:
        return LinkStatus.CLOSED
    return LinkStatus.OPEN


def revoke_link(session: Session, link: JoinLink, actor: User) -> None:
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        record_audit(session, link.organization_id, actor.id, "join_link.revoked", "join_link",
                     link.id)
    session.flush()


def operation_links(session: Session, operation_id: int) -> list[JoinLink]:
    return list(session.scalars(
        select(JoinLink).where(JoinLink.operation_id == operation_id)
        .order_by(JoinLink.created_at.desc(), JoinLink.id.desc())
    ))


def organization_links(session: Session, org_id: int) -> list[JoinLink]:
    return list(session.scalars(
        select(JoinLink).where(JoinLink.organization_id == org_id, JoinLink.operation_id.is_(None))
        .order_by(JoinLink.created_at.desc(), JoinLink.id.desc())
    ))


@dataclass(frozen=True)
class JoinResult:
    """What joining through a link did."""

    operation_id: int | None
    organization_id: int
    role: LinkRole
    already_member: bool


def enroll(session: Session, link: JoinLink, user: User) -> JoinResult:
    """How a join link becomes a membership: the one entry point for every way of joining
    (one tap when signed in, a verified phone code, `enroll_without_code`).

    An operation's link goes through the operations' membership rule
    (`ringround.operation_members.admit`): the link's role, never less than one held (an agent
    opening an owner link becomes an owner); someone removed is refused (RemovedError) until
    an organizer or owner adds them back. An organization's link makes an organizer. A use is
    counted only for a new or raised membership.
    """
    status = link_status(link)
    if status is not LinkStatus.OPEN:
        raise LinkClosedError(status)
    if link.operation is not None:
        admission = admit(session, link.operation, user.id, OperationRole(link.role.value),
                          via_link_id=link.id, before_change=lambda: _count_use(session, link))
        if admission.entry is Entry.REFUSE:
            raise RemovedError()
        already = admission.entry is Entry.KEEP
    else:
        already = role_in(session, user, link.organization_id) is not None
        if not already:
            _count_use(session, link)
            session.add(Membership(organization_id=link.organization_id, user_id=user.id,
                                   role=OrgRole.ORGANIZER))
    if not already and session.scalar(select(JoinLinkUse.id).where(
            JoinLinkUse.link_id == link.id, JoinLinkUse.user_id == user.id)) is None:
        session.add(JoinLinkUse(link_id=link.id, user_id=user.id))
    session.flush()
    if not already:
        record_audit(session, link.organization_id, user.id, "join_link.used", "join_link",
                     link.id, {"role": link.role.value})
    return JoinResult(link.operation_id, link.organization_id, link.role, already)


def _count_use(session: Session, link: JoinLink) -> None:
    """Take one use, atomically: two people racing for the last use cannot both get it."""
    statement = update(JoinLink).where(JoinLink.id == link.id)
    if link.max_uses is not None:
        statement = statement.where(JoinLink.uses < JoinLink.max_uses)
    result = session.execute(
        statement.values(uses=JoinLink.uses + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkClosedError(LinkStatus.USED_UP)
    session.refresh(link, ["uses"])


# ---- phones, users and codes ------------------------------------------------------------

def typed_phone(raw: str, region: str) -> str:
    """A number someone typed, as E.164 (`ringround.phones.parse_phone`; national numbers
    read in `region`, the organization's country), or EnrollmentError with a message for
    the person typing it."""
    parsed = phones.parse_phone(raw, region)
    if isinstance(parsed, phones.PhoneError):
        if parsed.code in ("empty", "not_a_number"):
            raise EnrollmentError(_("Please enter a phone number, for example +1 202 555 0123."))
        raise EnrollmentError(_("That phone number does not look right. "
                                "Please check it, with the country code if abroad."))
    return parsed.e164


def user_by_phone(session: Session, e164: str) -> User | None:
    return session.scalar(select(User).where(User.phone_e164 == e164))


def find_or_create_phone_user(
    session: Session, *, phone_e164: str, display_name: str, email: str | None = None,
    language: str | None = None,
) -> tuple[User, bool]:
    """The user with this (verified) number, or a new password-less one. Returns (user, new)."""
    user = user_by_phone(session, phone_e164)
    if user is not None:
        return user, False
    email = normalize_email(email) if email else None
    if email and session.scalar(select(User.id).where(User.email == email)):
        email = None  # someone else's address: never attach it to this account
    user = User(phone_e164=phone_e164, display_name=(display_name or "").strip()[:200] or
                phone_e164[-4:], email=email, language=language or None)
    session.add(user)
    session.flush()
    return user, True


def enroll_without_code(
    session: Session, link: JoinLink, *, display_name: str, phone_e164: str | None,
    email: str | None = None, language: str | None = None,
) -> tuple[User, JoinResult]:
    """Join through a link where no SMS can verify a number: always a new account.

    Nothing proves the number or email belongs to this person, so they never lead to an
    existing account; they are kept only when nobody else has them (and silently left off
    otherwise, so the page reveals nothing about others).
    """
    status = link_status(link)
    if status is not LinkStatus.OPEN:
        raise LinkClosedError(status)
    if phone_e164 and user_by_phone(session, phone_e164) is not None:
        phone_e164 = None
    email = normalize_email(email) if email else None
    if email and session.scalar(select(User.id).where(User.email == email)):
        email = None
    user = User(phone_e164=phone_e164 or None, email=email,
                display_name=(display_name or "").strip()[:200] or "?", language=language or None)
    session.add(user)
    session.flush()
    return user, enroll(session, link, user)


def _code_hash(phone: str, purpose: str, code: str) -> str:
    message = f"{phone}:{purpose}:{code}".encode()
    return hmac.new(app_keys().phone_code, message, hashlib.sha256).hexdigest()


def issue_phone_code(
    session: Session, phone_e164: str, purpose: str, now: datetime | None = None
) -> tuple[PhoneCode, str]:
    """A new 6-digit code for the number (the caller texts it). Limited per number."""
    now = now or utcnow()
    recent = session.scalar(select(func.count(PhoneCode.id)).where(
        PhoneCode.phone_e164 == phone_e164, PhoneCode.created_at > now - CODES_WINDOW))
    if recent >= CODES_PER_NUMBER:
        raise EnrollmentError(_("Too many codes were sent to this number. "
                                "Please wait a few minutes and try again."))
    code = f"{secrets.randbelow(10**6):06d}"
    row = PhoneCode(phone_e164=phone_e164, purpose=purpose, created_at=now,
                    code_hash=_code_hash(phone_e164, purpose, code),
                    expires_at=now + CODE_LIFETIME)
    session.add(row)
    session.flush()
    return row, code


def check_phone_code(
    session: Session, code_id: int, phone_e164: str, purpose: str, code: str,
    now: datetime | None = None,
) -> bool:
    """True once if `code` is right, unexpired and within the attempt limit; then it is spent."""
    now = now or utcnow()
    row = session.get(PhoneCode, code_id)
    if (row is None or row.phone_e164 != phone_e164 or row.purpose != purpose
            or row.used_at is not None or row.expires_at <= now
            or row.attempts >= CODE_MAX_ATTEMPTS):
        return False
    row.attempts += 1
    cleaned = re.sub(r"\D", "", code or "")
    if not hmac.compare_digest(row.code_hash, _code_hash(phone_e164, purpose, cleaned)):
        session.flush()
        return False
    row.used_at = now
    session.flush()
    return True


def code_attempts_left(session: Session, code_id: int) -> int:
    row = session.get(PhoneCode, code_id)
    return 0 if row is None else max(0, CODE_MAX_ATTEMPTS - row.attempts)
