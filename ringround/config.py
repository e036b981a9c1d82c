"""Settings, read once from the environment with safe defaults.

Every setting is documented in README.md ("Configuration"). Nothing here touches the network.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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


class ConfigError(RuntimeError):
    """Settings the app refuses to start with; the message says what to change."""


LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
LOCAL_SUFFIXES = (".localhost", ".test")


def is_local_address(url: str | None) -> bool:
    """True when `url` names this machine or a reserved test domain (never reachable by others)."""
    host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    return host in LOCAL_HOSTS or host.endswith(LOCAL_SUFFIXES)


def check_dev_mode(config: dict[str, object]) -> None:
    """Refuse DEV_SHOW_CODES unless the public address is local: shown codes sign anyone in."""
    if not config.get("DEV_SHOW_CODES"):
        return
    url = config.get("PUBLIC_BASE_URL")
    if not is_local_address(url if isinstance(url, str) else None):
        raise ConfigError(
            "DEV_SHOW_CODES=1 shows sign-in codes to whoever asks for them, so it is for "
            "development only. Set PUBLIC_BASE_URL to a local address (e.g. "
            f"http://localhost:5000) or unset DEV_SHOW_CODES (PUBLIC_BASE_URL is {url!r})."
        )


E164_PATTERN = re.compile(r"^\+[1-9]\d{6,14}$")
ACCOUNT_SID_PATTERN = re.compile(r"^AC[0-9a-fA-F]{32}$")
AUTH_TOKEN_PATTERN = re.compile(r"^[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_PATTERN = re.compile(r"^MG[0-9a-fA-F]{32}$")
PROVIDERS = ("twilio", "simulator")


@dataclass(frozen=True)
class TelephonySettings:
    """Which provider to use; Twilio only when its credentials are all set.

    `calls_per_second` paces outbound calls (Twilio's default account limit is 1 per second);
    `simulator_token` signs the simulator's webhook requests (derived from SECRET_KEY when unset).
    `messaging_service_sid` sends texts through a Twilio Messaging Service (A2P 10DLC);
    `provider_answers_keywords` says the provider replies to STOP/HELP itself (Advanced
    Opt-Out), so the app records them but sends no second reply.
    """

    provider: str
    account_sid: str | None
    auth_token: str | None
    default_from: str | None
    calls_per_second: float = 1.0
    simulator_token: str | None = None
    messaging_service_sid: str | None = None
    provider_answers_keywords: bool = False

    @classmethod
    def from_environ(cls) -> TelephonySettings:
        sid = os.environ.get("TWILIO_ACCOUNT_SID") or None
        token = os.environ.get("TWILIO_AUTH_TOKEN") or None
        default = "twilio" if sid and token else "simulator"
        provider = (os.environ.get("TELEPHONY_PROVIDER") or default).strip().lower()
        try:
            cps = float(os.environ.get("TWILIO_CALLS_PER_SECOND") or 1)
        except ValueError:
            cps = -1.0  # reported by problems() at start
        return cls(
            provider, sid, token, os.environ.get("TWILIO_FROM_NUMBER") or None, cps,
            os.environ.get("TELEPHONY_SIMULATOR_TOKEN") or None,
            (os.environ.get("TWILIO_MESSAGING_SERVICE_SID") or "").strip() or None,
            _flag(os.environ.get("TWILIO_ADVANCED_OPT_OUT")),
        )

    def problems(self, public_base_url: str | None) -> list[str]:
        """What is wrong with these settings, in words an operator can act on (empty if fine)."""
        found: list[str] = []
        if self.provider not in PROVIDERS:
            found.append(
                f"TELEPHONY_PROVIDER is {self.provider!r}; use 'twilio' or 'simulator'."
            )
        if not self.calls_per_second > 0:
            found.append("TWILIO_CALLS_PER_SECOND must be a number above 0 (e.g. 1).")
        if self.default_from and not E164_PATTERN.match(self.default_from):
            found.append(
                "TWILIO_FROM_NUMBER must be in E.164 form (e.g. +14155550100), "
                f"not {self.default_from!r}."
            )
        if self.messaging_service_sid and not MESSAGING_SERVICE_PATTERN.match(
                self.messaging_service_sid):
            found.append("TWILIO_MESSAGING_SERVICE_SID must be 'MG' followed by 32 hex "
                         "characters (Twilio console → Messaging → Services).")
        if self.provider != "twilio":
            return found
        if not self.account_sid:
            found.append("TWILIO_ACCOUNT_SID is not set (Twilio console → Account info).")
        elif not ACCOUNT_SID_PATTERN.match(self.account_sid):
            found.append("TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex characters.")
        if not self.auth_token:
            found.append("TWILIO_AUTH_TOKEN is not set (Twilio console → Account info).")
        elif not AUTH_TOKEN_PATTERN.match(self.auth_token):
            found.append("TWILIO_AUTH_TOKEN must be 32 hex characters.")
        if not public_base_url:
            found.append(
                "PUBLIC_BASE_URL is not set: Twilio needs it to reach the webhooks "
                "(e.g. https://calls.example.org)."
            )
        elif not public_base_url.startswith("https://"):
            found.append("PUBLIC_BASE_URL must start with https:// when Twilio is used.")
        return found


def _count(name: str, default: int) -> int:
    """A whole number of at least 1 from the environment (the default when unset or not one)."""
    try:
        value = int(os.environ.get(name) or default)
    except ValueError:
        return default
    return value if value >= 1 else default


def backup_schedule(value: str) -> int:
    """BACKUP_SCHEDULE: hours between scheduled backups; 0 for "off" (or "0", "no", "")."""
    value = value.strip().lower()
    if value in ("", "off", "no", "none", "0"):
        return 0
    try:
        hours = int(value)
    except ValueError:
        raise ValueError(
            f"BACKUP_SCHEDULE must be a number of hours or 'off', not {value!r}") from None
    if hours < 1:
        raise ValueError(f"BACKUP_SCHEDULE must be at least 1 hour, or 'off', not {value!r}")
    return hours


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
        # No ping before every checkout (a round trip per request on a healthy pool):
        # connections are renewed after half an hour instead, and one that broke (a database
        # restart) is thrown away with its pool when first used (SQLAlchemy's disconnect
        # handling), so only the request that meets it fails.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_recycle": 1800},
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
        # Said every time: Flask-Limiter keeps an app's setting for the next app it binds to.
        "RATELIMIT_ENABLED": True,
        # A sliding window: no burst of twice the limit across a window's edge.
        "RATELIMIT_STRATEGY": "moving-window",
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Join links and phone codes: counted per device and link (sharing/rate_keys.py), with
        # a per-address backstop that a whole event's Wi-Fi stays under.
        "JOIN_RATE_LIMIT": os.environ.get("JOIN_RATE_LIMIT", "30 per minute"),
        "CODE_SEND_RATE_LIMIT": os.environ.get("CODE_SEND_RATE_LIMIT", "5 per minute;20 per hour"),
        "CODE_CHECK_RATE_LIMIT": os.environ.get("CODE_CHECK_RATE_LIMIT", "10 per minute"),
        "RATE_LIMIT_PER_ADDRESS": os.environ.get("RATE_LIMIT_PER_ADDRESS",
                                                 "120 per minute;1000 per hour"),
        # How many people one volunteer may be shown in one operation (skips included), and
        # how many an offline batch holds: calling needs a few a minute, reading the list many.
        "CALLER_PEOPLE_PER_MINUTE": _count("CALLER_PEOPLE_PER_MINUTE", 12),
        "CALLER_PEOPLE_PER_HOUR": _count("CALLER_PEOPLE_PER_HOUR", 120),
        "CALLER_BATCH_MAX": _count("CALLER_BATCH_MAX", 10),
        # Wrong call-in codes keyed on the campaign line: per calling number, and for the
        # whole instance whatever number calls (docs/telephony.md, "Call-in mode").
        "CALL_IN_FAILED_CODES_PER_NUMBER": os.environ.get("CALL_IN_FAILED_CODES_PER_NUMBER",
                                                          "5 per hour;10 per day"),
        "CALL_IN_FAILED_CODES_PER_INSTANCE": os.environ.get(
            "CALL_IN_FAILED_CODES_PER_INSTANCE", "10 per hour;20 per day"),
        # Contacts one volunteer may share from the caller app (a sign-up table at an event
        # is a few a minute; an address book copied card by card is many).
        "SHARE_CONTACT_RATE_LIMIT": os.environ.get("SHARE_CONTACT_RATE_LIMIT",
                                                   "10 per 10 minutes;40 per day"),
        # Development only: with the simulator, texted codes also appear on the page.
        "DEV_SHOW_CODES": _flag(os.environ.get("DEV_SHOW_CODES")),
        "ORGANIZATIONS_OPEN_TO_ALL": _flag(os.environ.get("ORGANIZATIONS_OPEN_TO_ALL")),
        "TELEPHONY": TelephonySettings.from_environ(),
        # Twilio's REST client gives up after these many seconds (connecting, then reading).
        "TWILIO_CONNECT_TIMEOUT": float(os.environ.get("TWILIO_CONNECT_TIMEOUT") or 5),
        "TWILIO_READ_TIMEOUT": float(os.environ.get("TWILIO_READ_TIMEOUT") or 20),
        # Texts per second from one campaign number (a US long code: 1; toll-free or short
        # code more), enforced by the queue across all workers.
        "TEXTS_PER_SECOND": float(os.environ.get("TWILIO_TEXTS_PER_SECOND") or 1),
        # Calls and texts with no final status after this many minutes are asked about.
        "TELEPHONY_RECONCILE_MINUTES": float(os.environ.get("TELEPHONY_RECONCILE_MINUTES")
                                             or 10),
        # The job queue's storage (ringround/background.py): empty for a SQLite file in the
        # instance folder; redis://… or postgresql://… when workers on several hosts share it.
        "JOB_QUEUE_URL": os.environ.get("JOB_QUEUE_URL", ""),
        # Run each job at once where it is enqueued (tests, single-process debugging).
        "JOBS_IMMEDIATE": _flag(os.environ.get("JOBS_IMMEDIATE")),
        "BABEL_DEFAULT_LOCALE": "en",
        # translations/<locale>/LC_MESSAGES/messages.po, built to .mo by `make` (docs/languages.md)
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "NODE_MODULES": Path(os.environ.get("NODE_MODULES", PROJECT_ROOT / "node_modules")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        "IMPORT_MAX_COLUMNS": int(os.environ.get("IMPORT_MAX_COLUMNS", "300")),
        "IMPORT_MAX_CELL_CHARS": int(os.environ.get("IMPORT_MAX_CELL_CHARS", "10000")),
        # Where `flask backup` writes and the console looks for the last backup.
        "BACKUP_DIR": os.environ.get("BACKUP_DIR") or str(instance_path / "backups"),
        # Scheduled backups (a periodic job of the worker, docs/backups.md): one every N
        # hours ("off" or 0: none), the newest BACKUP_KEEP kept, encrypted with
        # BACKUP_PASSPHRASE when it is set.
        "BACKUP_SCHEDULE": backup_schedule(os.environ.get("BACKUP_SCHEDULE", "24")),
        "BACKUP_KEEP": int(os.environ.get("BACKUP_KEEP", "14")),
        "BACKUP_PASSPHRASE": os.environ.get("BACKUP_PASSPHRASE") or None,
        # How often a running import commits (and checkpoints): fewer commits are faster.
        "IMPORT_COMMIT_SECONDS": float(os.environ.get("IMPORT_COMMIT_SECONDS", "3")),
        "IMPORT_RETENTION_DAYS": int(os.environ.get("IMPORT_RETENTION_DAYS", "30")),
        # A running import commits every few seconds: this long without one, its worker
        # died and the periodic sweep resumes it (ringround/people/jobs.py).
        "IMPORT_STALE_SECONDS": int(os.environ.get("IMPORT_STALE_SECONDS", "180")),
    }
