"""The scheduler in-process against real NATS and PostgreSQL: decisions, exactly once, rebuild."""

import asyncio
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import EVENTS_STREAM, EventAppender, PendingAppend, job_subject
from conveyor_runtime.leadership import current_holder
from conveyor_scheduler.app import rebuild, serve
from conveyor_scheduler.errors import SchedulerBusyError
from conveyor_scheduler.settings import Settings

from .support import cancel_requested, decisions_per_job, gate, read_stream, submitted, table_rows


async def wait_quiet(js: JetStreamContext, pool: "asyncpg.Pool[Any]", timeout_s: float = 30) -> int:
    """Wait until the scheduler has applied everything in the stream and appends nothing more."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    stable = 0
    while asyncio.get_running_loop().time() < deadline:
        last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        checkpoint = await scheduler_checkpoint(pool)
        stable = stable + 1 if checkpoint == last else 0
        if stable >= 3:
            return last
        await asyncio.sleep(0.1)
    raise TimeoutError("the scheduler did not catch up")


async def scheduler_checkpoint(pool: "asyncpg.Pool[Any]") -> int | None:
    """The scheduler's stored position; ``None`` until it has created its tables."""
    try:
        value = await pool.fetchval("SELECT stream_seq FROM scheduler.checkpoints WHERE consumer = 'scheduler'")
    except asyncpg.UndefinedTableError:
        return None
    return None if value is None else int(value)


@pytest.fixture
async def running_scheduler(scheduler_settings: Settings) -> Any:
    """The scheduler service running in this event loop."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(scheduler_settings, stop))
    yield task
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_jobs_are_queued_by_their_submission_or_decided_exactly_once(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]", running_scheduler: Any
) -> None:
    appender = EventAppender(nc)
    held = gate()
    waiting = [submitted(depends_on=(held.job_id,)) for _ in range(300)]
    plain = [submitted() for _ in range(100)]
    await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in [held, *waiting, *plain]])
    await wait_quiet(js, pool)
    states = dict(await pool.fetch("SELECT id::text, state FROM scheduler.jobs"))
    assert len(states) == 401
    assert {states[e.job_id] for e in waiting} == {"blocked"}
    assert {states[e.job_id] for e in plain} == {"queued"}
    assert states[held.job_id] == "pending"
    counts = decisions_per_job(await read_stream(js))
    assert set(counts.values()) == {1}
    assert set(counts) == {(e.job_id, "job.blocked") for e in waiting}  # plain jobs needed no decision


async def test_cancel_requests_cancel_jobs_that_have_not_started(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]", running_scheduler: Any
) -> None:
    appender = EventAppender(nc)
    job = submitted()
    await appender.append(job_subject(job.job_id), job, expected_last_subject_seq=0)
    await wait_quiet(js, pool)
    await appender.append(job_subject(job.job_id), cancel_requested(job.job_id))
    await wait_quiet(js, pool)
    row = await pool.fetchrow("SELECT state, doc FROM scheduler.jobs WHERE id = $1::uuid", job.job_id)
    assert row is not None and row["state"] == "cancelled"
    assert decisions_per_job(await read_stream(js))[(job.job_id, "job.cancelled")] == 1


async def test_rebuilt_projection_equals_the_live_one_row_for_row(
    nc: NatsClient,
    js: JetStreamContext,
    pool: "asyncpg.Pool[Any]",
    running_scheduler: Any,
    scheduler_settings: Settings,
) -> None:
    appender = EventAppender(nc)
    jobs = [submitted(project=f"p{i % 3}", tags=(f"t{i % 2}",), priority=i % 7) for i in range(300)]
    await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in jobs])
    await appender.append_batch([PendingAppend(job_subject(e.job_id), cancel_requested(e.job_id)) for e in jobs[::10]])
    last = await wait_quiet(js, pool)
    assert await rebuild(scheduler_settings, into="shadow") == last
    live = await table_rows(pool, "scheduler")
    assert len(live) == 300
    assert await table_rows(pool, "shadow") == live


async def test_rebuild_in_place_is_refused_while_a_scheduler_runs(
    running_scheduler: Any, scheduler_settings: Settings, js: JetStreamContext
) -> None:
    for _ in range(100):  # wait until it holds the leader key
        if await current_holder(js) is not None:
            break
        await asyncio.sleep(0.05)
    with pytest.raises(SchedulerBusyError, match="holds the leader key"):
        await rebuild(scheduler_settings, into=None)
    assert await current_holder(js) is not None  # the refused rebuild left the leader alone


async def test_rebuild_in_place_replays_the_stream(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]", scheduler_settings: Settings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(scheduler_settings, stop))
    appender = EventAppender(nc)
    jobs = [submitted() for _ in range(100)]
    await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in jobs])
    await wait_quiet(js, pool)
    before = await table_rows(pool, "scheduler")
    stop.set()
    await asyncio.wait_for(task, 15)
    await pool.execute("UPDATE scheduler.jobs SET state = 'corrupted'")
    await rebuild(scheduler_settings, into=None)
    assert await table_rows(pool, "scheduler") == before
