"""Project maintenance, once for every surface (native ``/v1/projects/{name}/maintenance/*`` and
task_tracker's ``/project/reset_failed_tasks``, ``reclaim_assigned_tasks``, ``hard_reset``): one
request event per job (the scheduler decides as for a single job), then a bounded wait until the
scheduler has applied them all. The caller has checked the ``maintenance`` role."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Literal

from conveyor_events import (
    Appended,
    JobDeleteRequested,
    JobEvent,
    JobResetRequested,
    PendingAppend,
    job_subject,
    new_uuid7,
)

from .context import State
from .reader import fetch_projection
from .reads import wait_applied

Action = Literal["reset-failed", "reclaim-assigned", "hard-reset"]
Build = Callable[[str, datetime, str], JobEvent]
LIMIT: Final = 100_000  # jobs per call; call again for more


def _reset(job_id: str, at: datetime, by: str) -> JobEvent:
    return JobResetRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=at, requested_by=by)


def _delete(job_id: str, at: datetime, by: str) -> JobEvent:
    return JobDeleteRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=at, requested_by=by)


# action -> (the job states it touches, the event each job gets)
ACTIONS: Final[dict[Action, tuple[tuple[str, ...], Build]]] = {
    "reset-failed": (("failed", "timed_out"), _reset),
    "reclaim-assigned": (("assigned", "running"), _reset),
    "hard-reset": (
        ("pending", "blocked", "queued", "assigned", "running", "succeeded", "failed", "timed_out", "cancelled"),
        _delete,
    ),
}


async def maintain(state: State, project: str, action: Action, by: str) -> tuple[int, bool]:
    """Apply ``action`` to the project's jobs; ``(jobs touched, applied within the write wait)``."""
    states, build = ACTIONS[action]
    rows = await fetch_projection(
        state["reader"].pool,
        "SELECT id::text FROM scheduler.jobs WHERE project = $1 AND state = ANY($2::text[]) AND NOT deleted"
        " ORDER BY submitted_seq LIMIT $3",
        project,
        list(states),
        LIMIT,
    )
    now = datetime.now(UTC)
    items = [PendingAppend(job_subject(r[0]), build(r[0], now, by)) for r in rows]
    outcomes = await state["appender"].append_batch(items) if items else []
    last = max((o.seq for o in outcomes if isinstance(o, Appended)), default=0)
    return len(items), last == 0 or await wait_applied(state, last)
