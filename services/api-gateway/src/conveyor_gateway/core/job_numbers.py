"""Integer job numbers for the façades whose clients expect them (builds.sr.ht, task_tracker...):
a job's number is its ``submitted_seq``, the stream sequence of its first event, unique, and the
same after a restart or a projection rebuild. Reads of the scheduler's projection only."""

from typing import Any, Final

import asyncpg

from .reader import fetch_projection

_TABLE: Final = "scheduler.jobs"


async def number_of(pool: "asyncpg.Pool[Any]", job_id: str) -> int | None:
    """The number of the job ``job_id``; None for no such (live) job."""
    rows = await fetch_projection(
        pool, f"SELECT submitted_seq FROM {_TABLE} WHERE id = $1::uuid AND NOT deleted", job_id
    )
    return int(rows[0][0]) if rows else None


async def numbers_of(pool: "asyncpg.Pool[Any]", job_ids: list[str]) -> dict[str, int]:
    """The numbers of the live jobs among ``job_ids``."""
    sql = f"SELECT id::text, submitted_seq FROM {_TABLE} WHERE id = ANY($1::uuid[]) AND NOT deleted"
    return {r[0]: int(r[1]) for r in await fetch_projection(pool, sql, job_ids)}


async def job_numbered(pool: "asyncpg.Pool[Any]", number: int) -> str | None:
    """The id of the live job numbered ``number``; None for none."""
    if not 0 < number < 2**63:
        return None
    rows = await fetch_projection(
        pool, f"SELECT id::text FROM {_TABLE} WHERE submitted_seq = $1 AND NOT deleted", number
    )
    return str(rows[0][0]) if rows else None


async def owned_page(
    pool: "asyncpg.Pool[Any]", owner: str, *, limit: int, at_most: int | None, without_label: str = ""
) -> tuple[list[tuple[int, str]], int | None]:
    """``owner``'s jobs newest first, numbered at most ``at_most`` (and not labelled
    ``without_label``): ``(number, id)`` pairs and the number the next page starts at (None on the
    last page)."""
    sql = (
        f"SELECT submitted_seq, id::text FROM {_TABLE} WHERE owner = $1 AND NOT deleted"
        " AND ($2::bigint IS NULL OR submitted_seq <= $2) AND NOT (doc->'labels') ? $4"
        " ORDER BY submitted_seq DESC LIMIT $3"
    )
    rows = await fetch_projection(pool, sql, owner, at_most, limit + 1, without_label)
    page = [(int(r[0]), str(r[1])) for r in rows[:limit]]
    return page, (int(rows[limit][0]) if len(rows) > limit else None)


async def count_owned(pool: "asyncpg.Pool[Any]", owner: str, *, without_label: str = "") -> int:
    """How many live jobs ``owner`` has (not labelled ``without_label``)."""
    sql = f"SELECT count(*) FROM {_TABLE} WHERE owner = $1 AND NOT deleted AND NOT (doc->'labels') ? $2"
    rows = await fetch_projection(pool, sql, owner, without_label)
    return int(rows[0][0]) if rows else 0
