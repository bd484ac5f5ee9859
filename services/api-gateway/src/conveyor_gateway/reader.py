"""Reads of the scheduler's jobs projection (the gateway never writes it)."""

import base64
from typing import Any, Final

import asyncpg
import msgspec

from .bodies import JobView
from .errors import InvalidQueryError

_JOB_DECODER: Final = msgspec.json.Decoder(JobView)
_TABLE: Final = "scheduler.jobs"


class JobFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of ``GET /v1/jobs``: every given one must match."""

    state: str | None = None
    project: str | None = None
    tag: str | None = None
    owner: str | None = None


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("s"):
            raise ValueError(cursor)
        value = int(raw[1:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidQueryError("cursor is not one this API returned") from exc
    if value < 0:
        raise InvalidQueryError("cursor is not one this API returned")
    return value


class JobReader:
    """Job lookups and listings from the projection."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def get(self, job_id: str) -> JobView | None:
        async with self._pool.acquire() as conn:
            try:
                doc = await conn.fetchval(f"SELECT doc::text FROM {_TABLE} WHERE id = $1::uuid", job_id)
            except asyncpg.UndefinedTableError:  # the scheduler has not created its tables yet
                return None
        return None if doc is None else _JOB_DECODER.decode(doc)

    async def list(self, filters: JobFilter, *, limit: int, before_seq: int | None) -> tuple[list[JobView], str | None]:
        """Newest first, by submission order (a stable order: sequences never change)."""
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("state", filters.state),
            ("project", filters.project),
            ("owner", filters.owner),
        ):
            if value is not None:
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        if filters.tag is not None:
            args.append([filters.tag])
            clauses.append(f"tags @> ${len(args)}::text[]")
        if before_seq is not None:
            args.append(before_seq)
            clauses.append(f"submitted_seq < ${len(args)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        args.append(limit + 1)
        sql = f"SELECT submitted_seq, doc::text FROM {_TABLE} {where} ORDER BY submitted_seq DESC LIMIT ${len(args)}"
        async with self._pool.acquire() as conn:
            try:
                rows = await conn.fetch(sql, *args)
            except asyncpg.UndefinedTableError:
                return [], None
        items = [_JOB_DECODER.decode(r[1]) for r in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return items, next_cursor

    async def checkpoint(self, consumer: str) -> int:
        async with self._pool.acquire() as conn:
            try:
                value = await conn.fetchval(
                    "SELECT stream_seq FROM scheduler.checkpoints WHERE consumer = $1", consumer
                )
            except asyncpg.UndefinedTableError:
                return 0
        return int(value or 0)
