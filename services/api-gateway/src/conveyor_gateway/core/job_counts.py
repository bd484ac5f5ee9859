"""Counts over the scheduler's jobs projection for the dashboard's overview: jobs by project and
state, and finished jobs per time bucket (throughput and failures). Every count sees only the jobs
``viewer`` may read (``reader.READABLE``); ``viewer=None`` counts all (admins)."""

import asyncio
import time
from collections.abc import Callable
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


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The overview's figures at one moment: the queue, and ended jobs per 5 min and per hour."""

    queue: list[StateCount]
    hour: list[Bucket]
    day: list[Bucket]
    taken_at: datetime


class OverviewCounts:
    """The overview's figures, kept ``ttl_s`` per viewer: over a big table they take a moment
    (every job that has not ended, every job that ended today), and a page redraws on events, so
    one count serves every redraw and every tab of that user meanwhile (one count at a time each)."""

    def __init__(self, *, ttl_s: float = 5.0, max_viewers: int = 1000,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._ttl_s = ttl_s
        self._max = max_viewers
        self._clock = clock
        self._kept: dict[str | None, tuple[float, Snapshot]] = {}
        self._locks: dict[str | None, asyncio.Lock] = {}

    async def snapshot(self, counts: JobCounts, viewer: str | None, now: datetime) -> Snapshot:
        lock = self._locks.setdefault(viewer, asyncio.Lock())
        async with lock:
            kept = self._kept.get(viewer)
            if kept is not None and kept[0] > self._clock():
                return kept[1]
            hour_from = now.replace(second=0, microsecond=0) - timedelta(minutes=55)
            day_from = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
            queue, hour, day = await asyncio.gather(
                counts.queue_by_project_and_state(viewer),
                counts.finished_per_bucket(viewer, since=hour_from, width=timedelta(minutes=5), n=12),
                counts.finished_per_bucket(viewer, since=day_from, width=timedelta(hours=1), n=24),
            )
            snap = Snapshot(queue=queue, hour=hour, day=day, taken_at=now)
            if len(self._kept) >= self._max:
                self._kept.pop(next(iter(self._kept)))
                self._locks = {k: v for k, v in self._locks.items() if k in self._kept or k == viewer}
            self._kept[viewer] = (self._clock() + self._ttl_s, snap)
            return snap
