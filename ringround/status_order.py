"""Provider statuses only move forward: callbacks can arrive out of order (a late `ringing`
after `completed`), so a status is applied only when it ranks above the one recorded, and,
where the provider numbers its callbacks (Twilio's `SequenceNumber` on calls), only when it
was sent later."""

from __future__ import annotations

# A call leg: queued → initiated → ringing → answered → one final status. Ringround's own:
# `missed` is final (a call-back nobody took stays on the list); `ended` (a call-in shift
# Ringround ended) waits for the provider's `completed`.
CALL_RANKS = {
    "queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3, "ended": 3,
    "completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4, "missed": 4,
    "invalid-number": 4,  # ours: the provider refused the number (21211, 21214)
}
# A text: queued → sending → sent → delivered or not → read (channels that report it).
MESSAGE_RANKS = {
    "accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
    "delivered": 3, "undelivered": 3, "failed": 3, "canceled": 3, "read": 4,
}


def moves_forward(ranks: dict[str, int], current: str | None, new: str,
                  current_sequence: int | None = None, new_sequence: int | None = None) -> bool:
    """True when `new` may replace `current`: it was sent later (when both are numbered) and
    ranks higher. An unknown new status never replaces a known one."""
    if current_sequence is not None and new_sequence is not None \
            and new_sequence <= current_sequence:
        return False
    if current not in ranks:
        return True
    return new in ranks and ranks[new] > ranks[current]


def sequence_number(value: str | None) -> int | None:
    """The provider's callback number, when it sent one."""
    return int(value) if value and value.isdigit() else None
