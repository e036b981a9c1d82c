"""A logging filter that replaces join and sign-in tokens in request lines with `[token]`.

Web servers log every request path, and `/j/<token>` and `/in/<token>` are secrets: Werkzeug's
and gunicorn's loggers get this filter, so an access log never holds a usable link.
"""

from __future__ import annotations

import logging
import re

JOIN_PATH_RE = re.compile(r"/(j|in)/[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """`text` with every join-link and sign-in-link token replaced."""
    return JOIN_PATH_RE.sub(r"/\1/[token]", text)


class RedactJoinTokens(logging.Filter):
    """Rewrites a record's message and arguments before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            # In place: gunicorn passes its own dict type (missing keys print as "-").
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = redact(value)
        return True
