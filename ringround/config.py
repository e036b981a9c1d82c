"""Settings, read once from the environment with safe defaults.

Every setting is documented in README.md ("Configuration"). Nothing here touches the network.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def normalize_database_url(url: str) -> str:
    """Map plain `postgres://`/`postgresql://` URLs to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_secret_key(instance_path: Path) -> str:
    """The SECRET_KEY from the environment, else one generated once and kept in instance/."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must agree on one key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class TelephonySettings:
    """Which provider to use; Twilio only when its credentials are all set."""

    provider: str
    account_sid: str | None
    auth_token: str | None
    default_from: str | None

    @classmethod
    def from_environ(cls) -> TelephonySettings:
        sid = os.environ.get("TWILIO_ACCOUNT_SID") or None
        token = os.environ.get("TWILIO_AUTH_TOKEN") or None
        default = "twilio" if sid and token else "simulator"
        provider = os.environ.get("TELEPHONY_PROVIDER") or default
        return cls(provider, sid, token, os.environ.get("TWILIO_FROM_NUMBER") or None)


def build_config(instance_path: Path) -> dict[str, object]:
    """All Flask settings for one app instance."""
    default_db = f"sqlite:///{instance_path / 'ringround.sqlite'}"
    public_base_url = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/") or None
    secure = bool(public_base_url and public_base_url.startswith("https://"))
    return {
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(
            os.environ.get("DATABASE_URL") or default_db
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PUBLIC_BASE_URL": public_base_url,
        "BEHIND_PROXY": _flag(os.environ.get("BEHIND_PROXY")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "TELEPHONY": TelephonySettings.from_environ(),
        "BABEL_DEFAULT_LOCALE": "en",
        "NODE_MODULES": Path(os.environ.get("NODE_MODULES", PROJECT_ROOT / "node_modules")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
    }
