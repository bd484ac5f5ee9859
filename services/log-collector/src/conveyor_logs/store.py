"""SQL of the collector's tables, run inside the projector's transaction."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from conveyor_runtime import DbConnection

from .ingest import LogState, Piece
from .schema import SCHEMA

LogKey = tuple[str, int, str]
"""``(job_id, attempt, task)``: one attempt's log of a job or of one of its tasks."""

_S: Final = SCHEMA


async def load_states(conn: DbConnection, keys: Iterable[LogKey]) -> dict[LogKey, LogState]:
    keys = list(keys)
    rows = await conn.fetch(
        f"SELECT s.job_id::text, s.attempt, s.task, s.received, s.stored, s.truncated FROM {_S}.streams s"
        " JOIN unnest($1::uuid[], $2::int[], $3::text[]) AS k(job_id, attempt, task)"
        " ON s.job_id = k.job_id AND s.attempt = k.attempt AND s.task = k.task",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r[0], r[1], r[2]): LogState(r[3], r[4], r[5]) for r in rows}


async def save_logs(
    conn: DbConnection,
    states: dict[LogKey, tuple[LogState, str]],
    pieces: Sequence[tuple[LogKey, Piece]],
    now: datetime,
) -> None:
    if pieces:
        await conn.executemany(
            f"INSERT INTO {_S}.chunks (job_id, attempt, task, start_offset, end_offset, data)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            [(k[0], k[1], k[2], p.offset, p.offset + len(p.data), p.data) for k, p in pieces],
        )
    await conn.executemany(
        f"INSERT INTO {_S}.streams (job_id, attempt, task, lease_id, received, stored, truncated, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id, attempt, task) DO UPDATE SET"
        " received = EXCLUDED.received, stored = EXCLUDED.stored, truncated = EXCLUDED.truncated,"
        " updated_at = EXCLUDED.updated_at",
        [(k[0], k[1], k[2], lease, s.received, s.stored, s.truncated, now) for k, (s, lease) in states.items()],
    )


async def load_patterns(conn: DbConnection, job_ids: Iterable[str]) -> dict[str, str | None]:
    rows = await conn.fetch(
        f"SELECT job_id::text, progress_pattern FROM {_S}.jobs WHERE job_id = ANY($1::uuid[])", list(job_ids)
    )
    return {r[0]: r[1] for r in rows}


async def save_jobs(conn: DbConnection, jobs: Sequence[tuple[str, str | None, datetime]]) -> None:
    """Remember each job's progress pattern (``(job_id, pattern, submitted_at)``)."""
    if jobs:
        await conn.executemany(
            f"INSERT INTO {_S}.jobs (job_id, progress_pattern, submitted_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (job_id) DO UPDATE SET progress_pattern = EXCLUDED.progress_pattern",
            jobs,
        )


async def save_progress(
    conn: DbConnection, job_id: str, percent: float, task: str | None, source: str, at: datetime
) -> None:
    await conn.execute(
        f"INSERT INTO {_S}.progress (job_id, percent, task, source, updated_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (job_id) DO UPDATE SET percent = EXCLUDED.percent, task = EXCLUDED.task,"
        " source = EXCLUDED.source, updated_at = EXCLUDED.updated_at",
        job_id,
        percent,
        task,
        source,
        at,
    )


async def save_worker_logs(conn: DbConnection, rows: Sequence[tuple[str, int, str, str, datetime]]) -> None:
    if rows:
        await conn.executemany(
            f"INSERT INTO {_S}.worker_logs (worker_id, level, scope, message, logged_at) VALUES ($1, $2, $3, $4, $5)",
            rows,
        )


async def save_artifact(conn: DbConnection, row: tuple[str, str, int, str, int, datetime]) -> None:
    await conn.execute(
        f"INSERT INTO {_S}.artifacts (job_id, path, size, sha256, attempt, stored_at) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (job_id, path) DO UPDATE SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256,"
        " attempt = EXCLUDED.attempt, stored_at = EXCLUDED.stored_at",
        *row,
    )


async def forget_job(conn: DbConnection, job_id: str) -> list[str]:
    """Delete a job's logs, progress and artifact rows; return the artifact paths it had."""
    paths = [r[0] for r in await conn.fetch(f"DELETE FROM {_S}.artifacts WHERE job_id = $1 RETURNING path", job_id)]
    for table in ("chunks", "streams", "progress", "jobs"):
        await conn.execute(f"DELETE FROM {_S}.{table} WHERE job_id = $1", job_id)
    return paths


async def sweep(conn: DbConnection, logs_before: datetime, artifacts_before: datetime) -> dict[str, Any]:
    """Delete logs and worker log lines not written since ``logs_before``, and artifact rows
    older than ``artifacts_before`` (the bucket's TTL removes their bytes)."""
    old = await conn.fetch(
        f"DELETE FROM {_S}.streams WHERE updated_at < $1 RETURNING job_id, attempt, task", logs_before
    )
    if old:
        await conn.execute(
            f"DELETE FROM {_S}.chunks c USING unnest($1::uuid[], $2::int[], $3::text[]) AS k(job_id, attempt, task)"
            " WHERE c.job_id = k.job_id AND c.attempt = k.attempt AND c.task = k.task",
            [r[0] for r in old],
            [r[1] for r in old],
            [r[2] for r in old],
        )
    lines = await conn.execute(f"DELETE FROM {_S}.worker_logs WHERE logged_at < $1", logs_before)
    artifacts = await conn.execute(f"DELETE FROM {_S}.artifacts WHERE stored_at < $1", artifacts_before)
    return {"logs": len(old), "worker_lines": lines, "artifacts": artifacts}
