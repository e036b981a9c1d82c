"""Join links, QR codes, posters and sign-up forms."""

from sharing.views import bp

__all__ = ["bp"]
