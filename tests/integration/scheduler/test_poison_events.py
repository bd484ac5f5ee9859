"""Events the scheduler cannot store as they are (issue 13): a NUL in a title, a number beyond
the column. Published straight to the stream, as a future bug would, they must not stop the
fold: later jobs are still queued, the poison event is in the quarantine table, and a rebuild
comes to the same rows."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import msgspec
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import EventAppender, PendingAppend, job_subject
from conveyor_scheduler.app import rebuild, serve
from conveyor_scheduler.settings import Settings

from .support import submitted, table_rows
from .test_projection import running_scheduler, wait_quiet

__all__ = ["running_scheduler"]  # the fixture, imported for these tests


async def quarantined(pool: "asyncpg.Pool[Any]", schema: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT consumer, stream_seq, subject, event_type, job_id, outcome"
        f" FROM {schema}.quarantine ORDER BY stream_seq"
    )
    return [tuple(r.values()) for r in rows]


async def test_a_nul_title_and_an_out_of_range_number_do_not_stop_the_fold(
    nc: NatsClient,
    js: JetStreamContext,
    pool: "asyncpg.Pool[Any]",
    running_scheduler: Any,
    scheduler_settings: Settings,
) -> None:
    appender = EventAppender(nc)
    before = [submitted() for _ in range(5)]
    nul = submitted(title="a\x00b")
    huge = submitted(priority=2**40)  # the priority column is an int4
    after = [submitted() for _ in range(5)]
    events = [*before, nul, huge, *after]
    outcomes = await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in events])
    seqs = {e.job_id: o.seq for e, o in zip(events, outcomes, strict=True)}  # type: ignore[union-attr]
    last = await wait_quiet(js, pool)

    states = dict(await pool.fetch("SELECT id::text, state FROM scheduler.jobs"))
    assert {states[e.job_id] for e in [*before, *after]} == {"queued"}
    # The NUL is replaced (U+FFFD) and the job goes on; the one that cannot be stored is left out.
    title = await pool.fetchval("SELECT doc->>'title' FROM scheduler.jobs WHERE id = $1::uuid", nul.job_id)
    assert title == "a\ufffdb"
    assert huge.job_id not in states
    assert await quarantined(pool, "scheduler") == [
        ("scheduler", seqs[nul.job_id], job_subject(nul.job_id), "job.submitted", nul.job_id, "sanitised"),
        ("scheduler", seqs[huge.job_id], job_subject(huge.job_id), "job.submitted", huge.job_id, "skipped"),
    ]

    assert await rebuild(scheduler_settings, into="shadow") == last
    assert await table_rows(pool, "shadow") == await table_rows(pool, "scheduler")
    assert await quarantined(pool, "shadow") == await quarantined(pool, "scheduler")


async def readyz(port: int) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/readyz")
    return answer.status_code, answer.json()["checks"]


async def until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_readyz_names_the_projector_while_it_cannot_fold(
    nc: NatsClient, pool: "asyncpg.Pool[Any]", scheduler_settings: Settings
) -> None:
    settings = msgspec.structs.replace(scheduler_settings, projector_stall_s=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    try:

        async def leading_and_ready() -> bool:
            with contextlib.suppress(httpx.TransportError):
                status, checks = await readyz(settings.http_port)
                return status == 200 and "projector:scheduler" in checks
            return False

        await until(leading_and_ready)
        # The projection's table is gone (an operator's slip): every batch fails and is retried.
        await pool.execute("ALTER TABLE scheduler.jobs RENAME TO jobs_away")
        job = submitted()
        await EventAppender(nc).append(job_subject(job.job_id), job, expected_last_subject_seq=0)

        async def stuck() -> bool:
            status, checks = await readyz(settings.http_port)
            return status == 503 and checks["projector:scheduler"] == "failing: ProjectorStuckError"

        await until(stuck)
        await pool.execute("ALTER TABLE scheduler.jobs_away RENAME TO jobs")
        await until(leading_and_ready)
        assert await pool.fetchval("SELECT state FROM scheduler.jobs WHERE id = $1::uuid", job.job_id) == "queued"
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
