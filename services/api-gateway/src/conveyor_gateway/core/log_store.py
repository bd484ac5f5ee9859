"""Reads of the log collector's tables (schema ``logs``); the gateway never writes them.

Chunks are read a page at a time, so a 100 MB log never sits in memory: at most
``_PAGE_ROWS`` chunks (each at most 256 KiB) are held while a response streams.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

import asyncpg
import msgspec

from conveyor_events import UtcDatetime

_PAGE_ROWS: Final = 4
_LEVELS: Final = ("trace", "info", "warn", "error")


class LogInfo(msgspec.Struct, frozen=True):
    """One attempt's log as stored: size in bytes and whether output was cut at the cap."""

    attempt: int
    size: int
    truncated: bool


class WorkerLogEntry(msgspec.Struct, kw_only=True):
    """A worker's leveled log line."""

    level: str
    scope: str
    message: str
    time: UtcDatetime


class ArtifactEntry(msgspec.Struct, kw_only=True):
    """An artifact of a job (listing entry)."""

    path: str
    size: int
    sha256: str
    attempt: int
    stored_at: UtcDatetime
    url: str


class LogStore:
    """Queries on ``logs.*``; every one answers "nothing" before the collector created its tables."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self._pool.acquire() as conn:
            try:
                return list(await conn.fetch(sql, *args))
            except asyncpg.UndefinedTableError:
                return []

    async def log_info(self, job_id: str, task: str, attempt: int | None) -> LogInfo | None:
        """The given attempt's log, or the latest attempt's when ``attempt`` is None."""
        rows = await self._fetch(
            "SELECT attempt, stored, truncated FROM logs.streams WHERE job_id = $1 AND task = $2"
            " AND ($3::int IS NULL OR attempt = $3) ORDER BY attempt DESC LIMIT 1",
            job_id,
            task,
            attempt,
        )
        return LogInfo(rows[0][0], rows[0][1], rows[0][2]) if rows else None

    async def received(self, job_id: str, attempt: int, task: str) -> int:
        """Worker bytes the collector has of this log (0 when none)."""
        rows = await self._fetch(
            "SELECT received FROM logs.streams WHERE job_id = $1 AND attempt = $2 AND task = $3", job_id, attempt, task
        )
        return int(rows[0][0]) if rows else 0

    async def chunks(
        self, job_id: str, attempt: int, task: str, start: int, end: int | None = None
    ) -> AsyncIterator[tuple[int, bytes]]:
        """``(offset, bytes)`` of the stored log from ``start`` up to ``end`` (or all stored)."""
        position = start
        while end is None or position < end:
            rows = await self._fetch(
                "SELECT start_offset, data FROM logs.chunks WHERE job_id = $1 AND attempt = $2 AND task = $3"
                " AND end_offset > $4 ORDER BY end_offset LIMIT $5",
                job_id,
                attempt,
                task,
                position,
                _PAGE_ROWS,
            )
            if not rows:
                return
            for offset, data in rows:
                piece = bytes(data)[position - offset :]
                if end is not None:
                    piece = piece[: end - position]
                if piece:
                    yield position, piece
                    position += len(piece)
                if end is not None and position >= end:
                    return

    async def progress_of(self, job_ids: list[str]) -> dict[str, float]:
        rows = await self._fetch(
            "SELECT job_id::text, percent FROM logs.progress WHERE job_id = ANY($1::uuid[])", job_ids
        )
        return {r[0]: float(r[1]) for r in rows}

    async def worker_log(
        self, worker_id: str, level: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[WorkerLogEntry]:
        rows = await self._fetch(
            "SELECT level, scope, message, logged_at FROM logs.worker_logs WHERE worker_id = $1 AND level >= $2"
            " AND ($3::timestamptz IS NULL OR logged_at >= $3) AND ($4::timestamptz IS NULL OR logged_at < $4)"
            " ORDER BY logged_at, id LIMIT $5",
            worker_id,
            _LEVELS.index(level),
            since,
            until,
            limit,
        )
        return [WorkerLogEntry(level=_LEVELS[r[0]], scope=r[1], message=r[2], time=r[3]) for r in rows]

    async def every_worker_log(self, level: str, since: datetime, limit: int) -> list[tuple[str, WorkerLogEntry]]:
        """Every worker's lines of exactly ``level`` logged after ``since``, oldest first, with the
        worker's id (task_tracker's ``/logs``)."""
        rows = await self._fetch(
            "SELECT worker_id::text, level, scope, message, logged_at FROM logs.worker_logs"
            " WHERE level = $1 AND logged_at > $2 ORDER BY logged_at, id LIMIT $3",
            _LEVELS.index(level),
            since,
            limit,
        )
        return [(r[0], WorkerLogEntry(level=_LEVELS[r[1]], scope=r[2], message=r[3], time=r[4])) for r in rows]

    async def artifacts(self, job_id: str) -> list[ArtifactEntry]:
        rows = await self._fetch(
            "SELECT path, size, sha256, attempt, stored_at FROM logs.artifacts WHERE job_id = $1 ORDER BY path",
            job_id,
        )
        return [
            ArtifactEntry(
                path=r[0],
                size=r[1],
                sha256=r[2],
                attempt=r[3],
                stored_at=r[4],
                url=f"/v1/jobs/{job_id}/artifacts/{r[0]}",
            )
            for r in rows
        ]

    async def checkpoint(self, consumer: str) -> int:
        rows = await self._fetch("SELECT stream_seq FROM logs.checkpoints WHERE consumer = $1", consumer)
        return int(rows[0][0]) if rows else 0
