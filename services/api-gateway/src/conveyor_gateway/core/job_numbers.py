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
