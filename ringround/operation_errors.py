"""The error every change to an operation raises, and the rule that ended ones stay as they
are: shared by the wizard's steps, its members and its lifecycle."""

from __future__ import annotations

from flask_babel import gettext as _

from ringround.models import Operation, OperationState, User

EDITABLE_STATES = (OperationState.DRAFT, OperationState.ACTIVE, OperationState.PAUSED)


class OperationError(ValueError):
    """A change that cannot be made, with a message fit to show (and the field it is about).

    `errors` holds every problem found, field -> message, so a form can show them all at once.
    """

    def __init__(self, message: str, field: str | None = None,
                 errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or ({field: message} if field else {})

    @classmethod
    def from_problems(cls, problems: dict[str, str]) -> OperationError:
        """One error carrying several problems (the first one is its message)."""
        field, message = next(iter(problems.items()))
        return cls(message, field, dict(problems))


def actor_id(actor: User | None) -> int | None:
    """Who to record in the audit log (None: the command line, run by the server's owner)."""
    return actor.id if actor is not None else None


def check_editable(operation: Operation) -> None:
    """OperationError unless the operation is a draft, active or paused."""
    if operation.state not in EDITABLE_STATES:
        raise OperationError(_("This operation has ended. Duplicate it to run it again."))
