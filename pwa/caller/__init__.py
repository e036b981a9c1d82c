"""The caller app: one person at a time, results through an offline-safe outbox.

Pages live under /call/<operation_id>; the phone's JavaScript talks to /api/call/<operation_id>.
Every view checks that the signed-in user is a member (agent or owner) of the operation, and
every card shows only the fields the operation exposes. One blueprint (`caller`), its views
split by what they do: `cards` (the person to call now), `results` (the outbox, the result
form, skips, edits), `offline` (batches and the service worker), `campaign_line` (calls
through the campaign line); `base` holds the blueprint and its guard.
"""

from pwa.caller import campaign_line, cards, offline, results  # noqa: F401 - their routes
from pwa.caller.base import bp, member_required

__all__ = ["bp", "member_required"]
