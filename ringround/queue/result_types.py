"""What a result is and what it did: the result as sent, its outcome, and the rows the rules
read (a copy of the target's queue columns, the attempt's fields).

`SNAPSHOT` names the target columns a result may change: the outcome stored on the attempt
keeps them as they were (`snapshot`), so an edit can put them back (`restore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ringround.models import CallMethod, TargetState


@dataclass
class ResultIn:
    """A call's result as the caller app (or the telephony webhook) sends it."""

    client_id: str
    operation_id: int
    target_id: int
    agent_id: int | None
    disposition: str
    answers: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    field_updates: dict[str, Any] = field(default_factory=dict)
    method: CallMethod | str = CallMethod.OWN_PHONE
    started_at: datetime | None = None
    ended_at: datetime | None = None
    callback_at: datetime | None = None
    provider_sid: str | None = None
    provider_status: str | None = None
    phone_id: int | None = None  # the number dialed (default: the contact's first usable one)


@dataclass(frozen=True)
class RecordOutcome:
    """What a result did to its target."""

    attempt_id: int
    target_id: int | None
    disposition: str
    group: str
    target_state: str  # waiting, leased, done, removed
    reason: str | None  # why: cooldown, call_back_later, attempts_used_up, a label, a code
    next_eligible_at: datetime | None
    late: bool = False  # arrived after the lease expired or passed to another agent
    duplicate: bool = False  # this client_id had been recorded before: nothing changed

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.next_eligible_at is not None:
            data["next_eligible_at"] = self.next_eligible_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], **changes) -> RecordOutcome:
        data = dict(data)
        if data.get("next_eligible_at"):
            data["next_eligible_at"] = datetime.fromisoformat(data["next_eligible_at"])
        data.update(changes)
        return cls(**data)


SNAPSHOT = ("state", "reason", "attempts", "next_eligible_at", "last_attempt_at",
             "leased_to_id", "leased_at", "lease_expires_at", "retry_counts", "reselect_at")


_DATETIMES = frozenset({"next_eligible_at", "last_attempt_at", "leased_at", "lease_expires_at",
                        "reselect_at"})


@dataclass
class TargetRow:
    """A mutable copy of a target's queue columns: rules are decided on it, then saved."""

    id: int
    operation_id: int
    contact_id: int | None
    state: TargetState
    reason: str | None
    attempts: int
    next_eligible_at: datetime
    last_attempt_at: datetime | None
    leased_to_id: int | None
    leased_at: datetime | None
    lease_expires_at: datetime | None
    retry_counts: dict[str, int] | None
    reselect_at: datetime | None
    siblings: int = 0


@dataclass
class AttemptData:
    """The fields of an attempt the rules read (a new result, or a stored attempt)."""

    agent_id: int | None
    answers: dict[str, Any]
    callback_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    phone_id: int | None
    field_updates: dict[str, Any]
    id: int | None = None
    disposition: str | None = None


def snapshot(target) -> dict[str, Any]:
    data = {}
    for name in SNAPSHOT:
        value = getattr(target, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, TargetState):
            value = value.value
        data[name] = value
    return data


def restore(target, data: dict[str, Any]) -> None:
    for name in SNAPSHOT:
        value = data.get(name)
        if name in _DATETIMES and value:
            value = datetime.fromisoformat(value)
        if name == "state":
            value = TargetState(value)
        setattr(target, name, value)


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime in a result")
    return value.astimezone(UTC)
