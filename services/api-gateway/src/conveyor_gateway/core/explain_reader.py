"""Reads behind ``GET /v1/jobs/{id}/explain`` from the scheduler's projections: the job, the
workers that could run it with the jobs they hold, the queue ahead of it, its dependencies."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg
import msgspec

from conveyor_events import parse_uuid

from .bodies import JobView
from .explain import WorkerFact
from .reader import fetch_projection

_JOBS: Final = "scheduler.jobs"
_WORKERS: Final = "scheduler.workers"
_JOB_SQL: Final = f"SELECT doc::text, submitted_seq FROM {_JOBS} WHERE id = $1::uuid AND NOT deleted"
# The index on ((doc->>'worker_id'), state) serves the count of each worker's jobs.
_MATCHING_SQL: Final = f"""
SELECT w.id::text, w.name, w.labels, w.capacity, w.mode,
       (SELECT count(*) FROM {_JOBS} j
        WHERE j.doc->>'worker_id' = w.id::text AND j.state IN ('assigned', 'running'))
FROM {_WORKERS} w
WHERE NOT w.deleted AND w.labels @> $1::text[]
ORDER BY w.id
"""
_REGISTERED_SQL: Final = f"SELECT count(*) FROM {_WORKERS} WHERE NOT deleted"
# Queued jobs handed out before this one on raw order (priority, then submission), that are
# eligible now (not paused, cancelled or backing off) and that some matching worker can run
# (the job's labels are a subset of one of $3's label sets). Stops counting at $5.
_AHEAD_SQL: Final = f"""
SELECT count(*) FROM (
    SELECT 1 FROM {_JOBS} j
    WHERE j.state = 'queued'
      AND (j.priority > $1 OR (j.priority = $1 AND j.submitted_seq < $2))
      AND NOT coalesce((j.doc->>'paused')::boolean, false)
      AND NOT coalesce((j.doc->>'cancel_requested')::boolean, false)
      AND NOT j.deleted
      AND (j.doc->>'retry_at' IS NULL OR (j.doc->>'retry_at')::timestamptz <= $4)
      AND EXISTS (SELECT 1 FROM jsonb_array_elements($3::jsonb) s WHERE s @> coalesce(j.doc->'labels', '[]'))
    LIMIT $5
) ahead
"""
# A deleted job reads as "deleted", as the scheduler's dependency decisions see it.
_STATES_SQL: Final = (
    f"SELECT id::text, CASE WHEN deleted THEN 'deleted' ELSE state END FROM {_JOBS} WHERE id = ANY($1::uuid[])"
)

_job_decoder: Final = msgspec.json.Decoder(JobView)
_encoder: Final = msgspec.json.Encoder()


class ExplainReader:
    """The queries of explain. Each tolerates the scheduler not having created its tables yet."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        return await fetch_projection(self._pool, sql, *args)

    async def job(self, job_id: str) -> tuple[JobView, int] | None:
        """The job and its submission sequence (its place in line); None if there is none."""
        rows = await self._fetch(_JOB_SQL, job_id)
        return (_job_decoder.decode(rows[0][0]), rows[0][1]) if rows else None

    async def matching_workers(self, labels: Sequence[str]) -> tuple[list[WorkerFact], int]:
        """Non-deleted workers whose labels include ``labels``, with the jobs each holds; and how
        many non-deleted workers there are in all. ``last_seen_at`` is left for the caller."""
        async with self._pool.acquire() as conn:
            try:
                rows = await conn.fetch(_MATCHING_SQL, list(labels))
                registered = await conn.fetchval(_REGISTERED_SQL)
            except asyncpg.UndefinedTableError:
                return [], 0
        workers = [
            WorkerFact(id=r[0], name=r[1], labels=tuple(r[2]), capacity=r[3], mode=r[4], held=r[5]) for r in rows
        ]
        return workers, int(registered or 0)

    async def count_ahead(
        self, *, priority: int, submitted_seq: int, label_sets: Sequence[Sequence[str]], now: datetime, limit: int
    ) -> int:
        """Eligible queued jobs ahead of (``priority``, ``submitted_seq``) that a worker with one of
        ``label_sets`` can run; at most ``limit``."""
        sets = _encoder.encode(sorted({tuple(sorted(s)) for s in label_sets})).decode()
        rows = await self._fetch(_AHEAD_SQL, priority, submitted_seq, sets, now, limit)
        return int(rows[0][0]) if rows else 0

    async def job_states(self, job_ids: Sequence[str]) -> dict[str, str]:
        """The state of each job that exists (``deleted`` for a deleted one), by the id as given;
        ids that are not UUIDs exist nowhere."""
        canonical = {c: given for given in job_ids if (c := parse_uuid(given)) is not None}
        if not canonical:
            return {}
        rows = await self._fetch(_STATES_SQL, list(canonical))
        return {canonical[r[0]]: r[1] for r in rows}
