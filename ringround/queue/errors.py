"""What the queue refuses, and how a person is told.

Each refusal has a stable `kind` (what code compares, and what logs and `str()` show) and its
words for a person (`message`), in the reader's language, from the one table below. The
views show `message`, never `str(error)`.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

# What a person is told for each kind of refusal (`QueueError.message`).
REFUSALS = {
    "unknown_operation": _l("This operation no longer exists."),
    "unknown_agent": _l("Please sign in again."),
    "unknown_target": _l("That person is not part of this operation."),
    "unknown_disposition": _l("“%(code)s” is not a result of this operation."),
    "not_yours": _l("There is no such result of yours to change."),
    "edit_too_late": _l("A result can only be changed within ten minutes."),
    "called_again": _l("This person was called again since: the result can no longer be "
                       "changed."),
}


class QueueError(ValueError):
    """A request the queue refuses: `kind` (a key of `REFUSALS`) and its `params`."""

    def __init__(self, kind: str, **params: Any):
        super().__init__(f"{kind} {params}" if params else kind)
        self.kind, self.params = kind, params

    @property
    def message(self) -> str:
        """Why, in words for the person refused (in their language)."""
        return str(REFUSALS[self.kind]) % self.params if self.params else str(
            REFUSALS[self.kind])


class UnknownTargetError(QueueError):
    """The result names no target of its operation."""

    def __init__(self) -> None:
        super().__init__("unknown_target")


class ResultRefusedError(QueueError):
    """`record_result`'s `admit` refused the result; `message` is its words."""

    def __init__(self, refusal: str):
        super().__init__("refused")
        self.refusal = refusal

    @property
    def message(self) -> str:
        return self.refusal


class LimitReachedError(QueueError):
    """The agent saw as many people as the limits allow; more in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__("too_many_people", seconds=retry_after)
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return limited_message(self.retry_after)


def limited_message(seconds: int) -> str:
    """What a volunteer shown too many people too fast is told (the wait in seconds)."""
    return ngettext("You have seen many people very quickly; take a breath, you can go on in "
                    "%(num)d second.", "You have seen many people very quickly; take a breath, "
                    "you can go on in %(num)d seconds.", seconds)
