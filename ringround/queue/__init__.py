"""The target queue: who is called next, by whom, and what a result does.

Plain functions over a SQLAlchemy session (no HTTP). They never commit: the caller commits
right after (leases and results hold a row lock on PostgreSQL, the write lock on SQLite).

- `materialize_targets`, `refresh_operations`: targets from the operations' sources
  (idempotent refresh).
- `lease_next`, `lease_batch`, `held_leases`, `release_target`, `return_batch`,
  `renew_leases`, `expire_leases`: leases.
- `record_result`, `edit_result`, `start_attempt`, `apply_provider_status`: results.
- `blocked_counts`, `next_callable_at`, `stats_for_agent`, `people_reached`: figures.
- `lease_standing`, `caller_alerts`: what the leases granted say (may a result still be
  recorded; which agents look unlike callers).
"""

from ringround.queue.errors import (
    LimitReachedError,
    QueueError,
    ResultRefusedError,
    UnknownTargetError,
    limited_message,
)
from ringround.queue.grants import (
    RESULT_GRACE,
    CallerAlert,
    Standing,
    caller_alerts,
    lease_standing,
)
from ringround.queue.leasing import (
    MAX_BATCH,
    OFFLINE_LEASE_MINUTES,
    ONLINE_LEASE_MINUTES,
    Lease,
    SeeingLimits,
    expire_leases,
    held_leases,
    lease_batch,
    lease_next,
    operation_running,
)
from ringround.queue.materialize import materialize_targets, refresh_operations, source_filter
from ringround.queue.reasons import (
    REASONS,
    AgentStats,
    blocked_counts,
    next_callable_at,
    next_callable_zone,
    people_reached,
    stats_for_agent,
)
from ringround.queue.releases import release_target, renew_leases, return_batch
from ringround.queue.result_edits import EDIT_WINDOW, edit_result
from ringround.queue.result_types import RecordOutcome, ResultIn
from ringround.queue.results import apply_provider_status, record_result, start_attempt

__all__ = [
    "EDIT_WINDOW", "RESULT_GRACE", "CallerAlert", "Standing", "caller_alerts", "lease_standing",
    "MAX_BATCH", "OFFLINE_LEASE_MINUTES", "ONLINE_LEASE_MINUTES", "REASONS", "AgentStats",
    "Lease", "LimitReachedError", "QueueError", "RecordOutcome", "ResultIn",
    "ResultRefusedError", "UnknownTargetError",
    "apply_provider_status",
    "blocked_counts", "edit_result", "expire_leases", "held_leases", "lease_batch",
    "lease_next", "limited_message", "materialize_targets", "next_callable_at",
    "next_callable_zone",
    "operation_running", "record_result", "refresh_operations", "release_target",
    "renew_leases", "return_batch", "SeeingLimits",
    "source_filter", "start_attempt", "people_reached", "stats_for_agent",
]
