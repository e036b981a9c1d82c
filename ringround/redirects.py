"""Where a `next` parameter may send the browser: same-site relative paths only."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

# Characters that browsers strip or reinterpret in a URL (so "/\t/evil" becomes "//evil"),
# plus the space and backslash ("/\\evil" is "//evil" to a browser).
_FORBIDDEN = frozenset(chr(c) for c in range(0x21)) | {"\x7f", "\\"}


def _plain(text: str) -> bool:
    """Printable ASCII with no control character, space or backslash."""
    return text.isascii() and not any(char in _FORBIDDEN for char in text)


def safe_next_path(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/console/?x=1"), else None.

    Refused: anything with a scheme or host, a leading "//" (a host to browsers), control
    characters, spaces or backslashes anywhere (browsers drop or turn them into "/"), non-ASCII
    (look-alike slashes), and the same tricks percent-encoded once or twice.
    """
    if not target or not target.startswith("/") or not _plain(target):
        return None
    path = target
    for _round in range(4):  # "%252F%252F" → "%2F%2F" → "//"
        parts = urlsplit(path)
        if (not _plain(path) or path.startswith("//") or parts.scheme or parts.netloc
                or not parts.path.startswith("/")):
            return None
        decoded = unquote(parts.path)
        if decoded == parts.path:
            return target
        path = decoded
    return None  # encoded more deeply than any link this app makes
