"""Integer ids for façades whose seeds had them: a job's ``submitted_seq`` (the stream sequence of
its first event), durable and the same after a restart or a projection rebuild."""

from typing import Any

import asyncpg

from .reader import fetch_projection


async def job_at_seq(pool: "asyncpg.Pool[Any]", seq: int) -> str | None:
    """The id of the live job submitted at stream sequence ``seq``."""
    if not 0 < seq < 2**63:
        return None
    rows = await fetch_projection(
        pool, "SELECT id::text FROM scheduler.jobs WHERE submitted_seq = $1 AND NOT deleted", seq
    )
    return str(rows[0][0]) if rows else None


async def seqs_of(pool: "asyncpg.Pool[Any]", job_ids: list[str]) -> dict[str, int]:
    """Each live job's ``submitted_seq``, by job id."""
    rows = await fetch_projection(
        pool, "SELECT id::text, submitted_seq FROM scheduler.jobs WHERE id = ANY($1::uuid[])", job_ids
    )
    return {str(r[0]): int(r[1]) for r in rows}


async def number_of(pool: "asyncpg.Pool[Any]", job_id: str) -> int | None:
    """The ``submitted_seq`` of the live job ``job_id``; None for none."""
    rows = await fetch_projection(
        pool, "SELECT submitted_seq FROM scheduler.jobs WHERE id = $1::uuid AND NOT deleted", job_id
    )
    return int(rows[0][0]) if rows else None


async def owned_page(
    pool: "asyncpg.Pool[Any]", owner: str, *, limit: int, at_most: int | None, without_label: str = ""
) -> tuple[list[tuple[int, str]], int | None]:
    """``owner``'s jobs newest first, numbered at most ``at_most`` (and not labelled
    ``without_label``): ``(number, id)`` pairs and the number the next page starts at (None on the
    last page)."""
    sql = (
        "SELECT submitted_seq, id::text FROM scheduler.jobs WHERE owner = $1 AND NOT deleted"
        " AND ($2::bigint IS NULL OR submitted_seq <= $2) AND NOT (doc->'labels') ? $4"
        " ORDER BY submitted_seq DESC LIMIT $3"
    )
    rows = await fetch_projection(pool, sql, owner, at_most, limit + 1, without_label)
    page = [(int(r[0]), str(r[1])) for r in rows[:limit]]
    return page, (int(rows[limit][0]) if len(rows) > limit else None)


async def count_owned(pool: "asyncpg.Pool[Any]", owner: str, *, without_label: str = "") -> int:
    """How many live jobs ``owner`` has (not labelled ``without_label``)."""
    sql = "SELECT count(*) FROM scheduler.jobs WHERE owner = $1 AND NOT deleted AND NOT (doc->'labels') ? $2"
    rows = await fetch_projection(pool, sql, owner, without_label)
    return int(rows[0][0]) if rows else 0
