"""Reads of the scheduler's workers projection, and of the jobs each worker holds or ran."""

import base64
from typing import Any, Final

import asyncpg
import msgspec

from conveyor_events import UtcDatetime, parse_uuid

from .bodies import WorkerMode
from .errors import InvalidQueryError
from .reader import fetch_projection
from .worker_auth import StoredSecret

_WORKERS: Final = "scheduler.workers"
_JOBS: Final = "scheduler.jobs"
_CURSOR_PREFIX: Final = "w"
# One pass over the worker's jobs. `doc->>'worker_id'` is the job's latest worker: an expression
# index on ((doc->>'worker_id'), state) in scheduler.jobs serves this query as written.
_STATS_SQL: Final = f"""
SELECT doc->>'worker_id',
       coalesce(array_agg(id::text ORDER BY submitted_seq) FILTER (WHERE state IN ('assigned', 'running')), '{{}}'),
       count(*) FILTER (WHERE state = 'succeeded'),
       count(*) FILTER (WHERE state IN ('failed', 'timed_out'))
FROM {_JOBS}
WHERE doc->>'worker_id' = ANY($1::text[])
GROUP BY 1
"""


class WorkerDoc(msgspec.Struct, frozen=True, kw_only=True):
    """The projection's document of one worker (``scheduler.workers.doc``)."""

    id: str
    name: str
    labels: list[str] = msgspec.field(default_factory=list)
    capacity: int = 1
    mode: WorkerMode = "active"
    deleted: bool = False
    registered_at: UtcDatetime
    owner: str = ""
    version: int = 0


class JobStats(msgspec.Struct, frozen=True, kw_only=True):
    """What a worker holds now and what it has finished."""

    current_jobs: list[str] = msgspec.field(default_factory=list)
    finished_count: int = 0
    failed_count: int = 0


_DOC_DECODER: Final = msgspec.json.Decoder(WorkerDoc)


def encode_worker_cursor(worker_id: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{worker_id}".encode()).decode().rstrip("=")


def decode_worker_cursor(cursor: str) -> str:
    """The worker id a cursor continues after.

    Raises:
        InvalidQueryError: Not a cursor this API returned.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    worker_id = parse_uuid(raw[1:]) if raw.startswith(_CURSOR_PREFIX) else None
    if worker_id is None:
        raise InvalidQueryError("cursor is not one this API returned")
    return worker_id


class WorkerReader:
    """Worker lookups and listings. Every query tolerates the scheduler not having created its
    tables yet (a fresh install where the gateway starts first)."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        return await fetch_projection(self._pool, sql, *args)

    async def secret_of(self, worker_id: str) -> StoredSecret | None:
        rows = await self._fetch(f"SELECT secret_hash, deleted FROM {_WORKERS} WHERE id = $1::uuid", worker_id)
        if not rows or rows[0][0] is None:
            return None
        return StoredSecret(secret_hash=rows[0][0], is_deleted=bool(rows[0][1]))

    async def get(self, worker_id: str) -> WorkerDoc | None:
        rows = await self._fetch(f"SELECT doc::text FROM {_WORKERS} WHERE id = $1::uuid", worker_id)
        return _DOC_DECODER.decode(rows[0][0]) if rows else None

    async def job_stats(self, worker_ids: list[str]) -> dict[str, JobStats]:
        if not worker_ids:
            return {}
        rows = await self._fetch(_STATS_SQL, worker_ids)
        return {r[0]: JobStats(current_jobs=list(r[1]), finished_count=r[2], failed_count=r[3]) for r in rows}

    async def list(
        self, *, include_deleted: bool, limit: int, after_id: str | None
    ) -> tuple[list[WorkerDoc], str | None]:
        """Newest first. Ids are UUIDv7, so id order is registration order and never changes."""
        clauses = [] if include_deleted else ["NOT deleted"]
        args: list[Any] = []
        if after_id is not None:
            args.append(after_id)
            clauses.append(f"id < ${len(args)}::uuid")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        args.append(limit + 1)
        sql = f"SELECT id::text, doc::text FROM {_WORKERS} {where} ORDER BY id DESC LIMIT ${len(args)}"
        rows = await self._fetch(sql, *args)
        items = [_DOC_DECODER.decode(r[1]) for r in rows[:limit]]
        next_cursor = encode_worker_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return items, next_cursor
