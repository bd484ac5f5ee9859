"""Events with NUL that bypass the gateway (as a future bug would append them) stop nothing
(issue 13): the scheduler and the collector quarantine them and go on; later jobs are leased,
run and succeed, their logs are stored, and ``/readyz`` stays ready."""

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import nats

from conveyor_events import (
    EVENTS_STREAM,
    LOGS_STREAM,
    CommandPayload,
    JobSubmitted,
    WorkerLogLine,
    encode_event,
    encode_record,
    job_subject,
    new_uuid7,
    worker_log_subject,
)
from conveyor_runtime import create_pool

from .conftest import start_run, wait_for_log


async def publish_poison(nats_url: str) -> tuple[JobSubmitted, int, int]:
    job = JobSubmitted(
        event_id=new_uuid7(), job_id=new_uuid7(), occurred_at=datetime.now(UTC), project="demo", owner="o",
        payload=CommandPayload(command="true"), title="a\x00b", labels=("elsewhere",),
    )  # fmt: skip
    worker = new_uuid7()
    line = WorkerLogLine(worker_id=worker, level="info", message="m\x00", logged_at=datetime.now(UTC))
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        submitted = await js.publish(job_subject(job.job_id), encode_event(job), stream=EVENTS_STREAM)
        logged = await js.publish(worker_log_subject(worker), encode_record(line), stream=LOGS_STREAM)
    finally:
        await nc.close()
    return job, submitted.seq, logged.seq


async def quarantine(pool: "asyncpg.Pool[Any]", schema: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(f"SELECT consumer, stream_seq, outcome FROM {schema}.quarantine ORDER BY stream_seq")
    return [tuple(r.values()) for r in rows]


async def test_nul_events_on_the_streams_stop_neither_jobs_nor_logs(
    stack: httpx.AsyncClient, nats_url: str, database_url: str
) -> None:
    job, job_seq, line_seq = await publish_poison(nats_url)
    run = await start_run(stack)  # submitted after the poison: leased, started
    assert (await run.log(0, b"still logging\n")).status_code == 204
    assert (await run.finish()).json()["state"] == "succeeded"
    assert (await wait_for_log(stack, run.job_id, 14)).content == b"still logging\n"

    shown = await stack.get(f"/v1/jobs/{job.job_id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["title"] == "a\ufffdb"  # sanitised, and kept
    ready = await stack.get("/readyz")
    assert ready.status_code == 200, ready.text

    pool = await create_pool(database_url, timeout_s=10)
    try:
        assert (await quarantine(pool, "scheduler"))[:1] == [("scheduler", job_seq, "sanitised")]
        assert await quarantine(pool, "logs") == [("log-collector", line_seq, "sanitised")]
    finally:
        await pool.close()
