"""Counts over the scheduler's jobs projection for the dashboard's overview: jobs by project and
state, and finished jobs per time bucket (throughput and failures). Every count sees only the jobs
``viewer`` may read (``reader.READABLE``); ``viewer=None`` counts all (admins)."""

from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg
import msgspec

from conveyor_events.states import JOB_STATES, TERMINAL

from .reader import READABLE, fetch_projection

_FAILED: Final = ("failed", "timed_out")


class StateCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many live jobs of ``project`` are in ``state``."""

    project: str
    state: str
    count: int


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    """Jobs that finished in ``[start, start + width)``: all of them and the failed ones."""

    start: datetime
    finished: int
    failed: int


def _visible(viewer: str | None, args: list[Any]) -> str:
    if viewer is None:
        return ""
    args.append(viewer)
    return " AND " + READABLE.replace("{n}", str(len(args)))


def fill_buckets(rows: list[tuple[int, int, int]], since: datetime, width: timedelta, n: int) -> list[Bucket]:
    """``n`` consecutive buckets from ``since`` out of ``(index, finished, failed)`` rows, empty
    where no row fell (pure)."""
    by_index = {row[0]: row for row in rows}
    buckets: list[Bucket] = []
    for i in range(n):
        row = by_index.get(i)
        buckets.append(Bucket(start=since + i * width, finished=row[1] if row else 0, failed=row[2] if row else 0))
    return buckets


class JobCounts:
    """Aggregates for the overview; empty before the scheduler created its tables."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def queue_by_project_and_state(self, viewer: str | None) -> list[StateCount]:
        """Jobs that have not ended, per project and state, by project then state (the index on
        state reads only those: ended jobs, the bulk of a big table, are not counted)."""
        args: list[Any] = [[s for s in JOB_STATES if s not in TERMINAL]]
        sql = (
            "SELECT project, state, count(*) FROM scheduler.jobs WHERE state = ANY($1::text[]) AND NOT deleted"
            f"{_visible(viewer, args)} GROUP BY project, state ORDER BY project, state"
        )
        rows = await fetch_projection(self._pool, sql, *args)
        return [StateCount(project=r[0], state=r[1], count=r[2]) for r in rows]

    async def finished_per_bucket(
        self, viewer: str | None, *, since: datetime, width: timedelta, n: int
    ) -> list[Bucket]:
        """Jobs that ended (any terminal state) per ``width`` from ``since``, and how many failed
        (read through the scheduler's ``jobs_finished`` index)."""
        args: list[Any] = [list(TERMINAL), list(_FAILED), since, width.total_seconds()]
        sql = (
            "SELECT floor(extract(epoch FROM updated_at - $3::timestamptz) / $4::float8)::int AS bucket,"
            " count(*), count(*) FILTER (WHERE state = ANY($2::text[]))"
            " FROM scheduler.jobs WHERE state IN ('succeeded', 'failed', 'timed_out', 'cancelled') AND NOT deleted"
            " AND state = ANY($1::text[]) AND updated_at >= $3"
            f"{_visible(viewer, args)} GROUP BY 1"
        )
        rows = await fetch_projection(self._pool, sql, *args)
        return fill_buckets([(r[0], r[1], r[2]) for r in rows], since, width, n)
