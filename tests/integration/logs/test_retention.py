"""Retention: logs, worker log lines and artifact rows older than the policy are swept; newer stay."""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from conveyor_events import new_uuid7
from conveyor_logs import store
from conveyor_logs.ingest import LogState, Piece
from conveyor_logs.schema import MIGRATIONS, SCHEMA
from conveyor_runtime import apply_migrations


async def test_sweep_removes_only_what_is_past_retention(pool: "asyncpg.Pool[Any]") -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    now = datetime.now(UTC)
    old_job, new_job, worker = new_uuid7(), new_uuid7(), new_uuid7()
    async with pool.acquire() as conn, conn.transaction():
        for job, at in ((old_job, now - timedelta(days=40)), (new_job, now)):
            key = (job, 1, "")
            await store.save_logs(conn, {key: (LogState(3, 3, False), "lease")}, [(key, Piece(0, b"abc"))], at)
            await store.save_artifact(conn, (job, "a.txt", 3, "00", 1, at))
        await store.save_worker_logs(
            conn, [(worker, 1, "", "old", now - timedelta(days=40)), (worker, 1, "", "new", now)]
        )
        await store.sweep(conn, now - timedelta(days=30), now - timedelta(days=30))
    async with pool.acquire() as conn:
        assert {r[0] for r in await conn.fetch("SELECT job_id::text FROM logs.streams")} == {new_job}
        assert {r[0] for r in await conn.fetch("SELECT job_id::text FROM logs.chunks")} == {new_job}
        assert {r[0] for r in await conn.fetch("SELECT job_id::text FROM logs.artifacts")} == {new_job}
        assert [r[0] for r in await conn.fetch("SELECT message FROM logs.worker_logs")] == ["new"]
