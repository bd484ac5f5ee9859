"""The rebuild's bulk replay (``replay.py``) writes what the live fold writes: jobs, dependency
edges and workers, with the jobs table's indexes built again at the end."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import (
    EVENTS_STREAM,
    EventAppender,
    PendingAppend,
    WorkerEvent,
    WorkerRegistered,
    WorkerStateChanged,
    job_subject,
    new_uuid7,
    worker_subject,
)
from conveyor_scheduler.app import rebuild, serve
from conveyor_scheduler.settings import Settings

from .support import cancel_requested, submitted, table_rows
from .test_projection import wait_quiet


async def _rows(pool: "asyncpg.Pool[Any]", sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in await pool.fetch(sql)]


async def _indexes(pool: "asyncpg.Pool[Any]", schema: str) -> list[str]:
    rows = await pool.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs'", schema)
    return sorted(r[0] for r in rows)


async def test_a_replay_through_a_tiny_cache_equals_the_live_projection(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]", scheduler_settings: Settings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(scheduler_settings, stop))
    try:
        appender = EventAppender(nc)
        first = [submitted(project=f"p{i % 3}", tags=(f"t{i % 2}",), priority=i % 5) for i in range(60)]
        await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in first])
        # Later jobs wait on earlier ones (dependency edges), and some jobs are cancelled after
        # they were queued: a job's events are spread over the stream, far apart.
        second = [submitted(depends_on=(first[i].job_id, first[i + 1].job_id)) for i in range(0, 40, 4)]
        await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in second])
        now = datetime.now(UTC)
        workers = [new_uuid7() for _ in range(3)]
        registered = [
            WorkerRegistered(
                event_id=new_uuid7(), worker_id=w, occurred_at=now, name=f"w{i}", labels=("x",), secret_hash="h"
            )
            for i, w in enumerate(workers)
        ]
        paused = WorkerStateChanged(event_id=new_uuid7(), worker_id=workers[0], occurred_at=now, mode="paused")
        worker_events: list[WorkerEvent] = [*registered, paused]
        await appender.append_batch([PendingAppend(worker_subject(e.worker_id), e) for e in worker_events])
        await appender.append_batch(
            [PendingAppend(job_subject(e.job_id), cancel_requested(e.job_id)) for e in first[::7]]
        )
        last = await wait_quiet(js, pool)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)

    # A cache of 7 jobs and a write every 13 events: rows are read back, inserted and updated.
    assert await rebuild(scheduler_settings, into="replayed", cache_jobs=7, flush_events=13) == last
    # The events came through the reader process's own consumer, which is gone with it.
    consumers = {c.name for c in await js.consumers_info(EVENTS_STREAM)}
    assert not {name for name in consumers if name.endswith("_reader")}
    live = await table_rows(pool, "scheduler")
    assert len(live) == 70
    assert await table_rows(pool, "replayed") == live
    edges = "SELECT job_id, depends_on FROM {}.job_dependencies ORDER BY 1, 2"
    live_edges = await _rows(pool, edges.format("scheduler"))
    assert len(live_edges) == 20
    assert await _rows(pool, edges.format("replayed")) == live_edges
    workers_sql = "SELECT * FROM {}.workers ORDER BY registered_seq"
    live_workers = await _rows(pool, workers_sql.format("scheduler"))
    assert len(live_workers) == 3
    assert await _rows(pool, workers_sql.format("replayed")) == live_workers
    # The indexes dropped for the load are back, and none is left waiting.
    assert await _indexes(pool, "replayed") == await _indexes(pool, "scheduler")
    assert await pool.fetchval("SELECT count(*) FROM replayed.deferred_indexes") == 0
