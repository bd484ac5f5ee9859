"""Is this lease the job's current one? Read from the scheduler's projection (fencing for logs,
progress and artifacts, which do not go through the scheduler)."""

from typing import Any, Final

import asyncpg
import msgspec
from nats.js import JetStreamContext

from conveyor_events import EVENTS_STREAM
from conveyor_runtime import PositionWatcher

from ..errors import LeaseNotCurrentError
from .reader import fetch_projection

_LIVE: Final = ("assigned", "running")
_LOST: Final = (
    "this lease is no longer the job's: it expired, was cancelled or reassigned; stop the run and lease again"
)


class CurrentLease(msgspec.Struct, frozen=True):
    """The job a current lease is for, and the attempt it runs."""

    job_id: str
    attempt: int
    tasks: tuple[str, ...] = ()
    """The names of the job's manifest tasks (none for a command or recipe job)."""


async def _lookup(pool: "asyncpg.Pool[Any]", worker_id: str, lease_id: str) -> CurrentLease | None:
    rows = await fetch_projection(
        pool,
        "SELECT id::text, (doc->>'attempts')::int,"
        " ARRAY(SELECT jsonb_array_elements_text(jsonb_path_query_array(doc, '$.tasks[*].name')))"
        " FROM scheduler.jobs"
        " WHERE doc->>'worker_id' = $1 AND state = ANY($2::text[]) AND doc->>'lease_id' = $3 AND NOT deleted",
        worker_id,
        list(_LIVE),
        lease_id,
    )
    return CurrentLease(rows[0][0], max(1, rows[0][1] or 1), tuple(rows[0][2] or ())) if rows else None


async def current_lease(
    pool: "asyncpg.Pool[Any]",
    js: JetStreamContext,
    watcher: PositionWatcher,
    worker_id: str,
    lease_id: str,
    wait_s: float,
) -> CurrentLease:
    """The job of ``lease_id`` held by ``worker_id`` while the job is assigned or running.

    The projection may lag the scheduler (a lease granted, or a run finished, a moment ago), so
    the lookup first waits (up to ``wait_s``) until the scheduler has folded every event appended
    before this call: a report after ``finish`` answered is refused, a fresh lease is found.

    Raises:
        LeaseNotCurrentError: The lease is not (or no longer) the job's, or not this worker's.
    """
    info = await js.stream_info(EVENTS_STREAM)
    await watcher.wait_for(info.state.last_seq, wait_s)
    found = await _lookup(pool, worker_id, lease_id)
    if found is None:
        raise LeaseNotCurrentError(_LOST)
    return found
