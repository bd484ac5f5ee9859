"""A log line or an event the collector cannot store as it is (issue 13): a NUL in a worker's log
line or a progress pattern, published straight to the streams as a future bug would. The
collector must go on: later lines and chunks are stored, the poison message is quarantined."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from conveyor_devstack import free_port
from conveyor_events import (
    EVENTS_STREAM,
    LOGS_STREAM,
    CommandPayload,
    JobSubmitted,
    LogChunk,
    WorkerLogLine,
    encode_chunk,
    encode_event,
    encode_record,
    job_subject,
    log_subject,
    new_uuid7,
    worker_log_subject,
)
from conveyor_logs.app import serve
from conveyor_logs.settings import Settings


@pytest.fixture
async def collector(nats_url: str, database_url: str, js: JetStreamContext) -> AsyncIterator[None]:
    settings = Settings(
        nats_url=nats_url, database_url=database_url, http_port=free_port(), events_duplicate_window_s=1.0
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    yield
    stop.set()
    await asyncio.wait_for(task, 15)


async def eventually(pool: "asyncpg.Pool[Any]", query: str, expected: Any, timeout_s: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    value: Any = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            value = await pool.fetch(query)
        except asyncpg.UndefinedTableError:
            value = None
        if value is not None and [tuple(r.values()) for r in value] == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query}: {value!r} != {expected!r}")


def line(worker: str, message: str) -> bytes:
    return encode_record(WorkerLogLine(worker_id=worker, level="info", message=message, logged_at=datetime.now(UTC)))


async def test_a_worker_log_line_with_nul_does_not_stop_the_log_projector(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]", collector: None
) -> None:
    worker, job, lease = new_uuid7(), new_uuid7(), new_uuid7()
    await js.publish(worker_log_subject(worker), line(worker, "before"), stream=LOGS_STREAM)
    poison = await js.publish(worker_log_subject(worker), line(worker, "m\x00"), stream=LOGS_STREAM)
    await js.publish(worker_log_subject(worker), line(worker, "after"), stream=LOGS_STREAM)
    chunk = LogChunk(job_id=job, lease_id=lease, attempt=1, task="", offset=0, data=b"hello\n")
    await js.publish(log_subject(job, lease), encode_chunk(chunk), stream=LOGS_STREAM)

    await eventually(pool, "SELECT job_id::text, stored FROM logs.streams", [(job, 6)])
    await eventually(pool, "SELECT message FROM logs.worker_logs ORDER BY id", [("before",), ("m\ufffd",), ("after",)])
    await eventually(
        pool,
        "SELECT consumer, stream_seq, outcome FROM logs.quarantine",
        [("log-collector", poison.seq, "sanitised")],
    )


async def test_a_progress_pattern_with_nul_does_not_stop_the_events_projector(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]", collector: None
) -> None:
    def submitted(pattern: str) -> JobSubmitted:
        job = new_uuid7()
        payload = CommandPayload(command="true")
        now = datetime.now(UTC)
        return JobSubmitted(
            event_id=new_uuid7(), job_id=job, occurred_at=now, project="p", owner="o", payload=payload,
            progress_pattern=pattern,
        )  # fmt: skip

    events = [submitted("(\\d+)%"), submitted("\x00(\\d+)"), submitted("(\\d+)/")]
    acks = [await js.publish(job_subject(e.job_id), encode_event(e), stream=EVENTS_STREAM) for e in events]
    await eventually(
        pool,
        "SELECT job_id::text, progress_pattern FROM logs.jobs ORDER BY job_id",
        sorted((e.job_id, (e.progress_pattern or "").replace("\x00", "\ufffd")) for e in events),
    )
    await eventually(
        pool,
        "SELECT consumer, stream_seq, job_id, event_type, outcome FROM logs.quarantine",
        [("log-collector-events", acks[1].seq, events[1].job_id, "job.submitted", "sanitised")],
    )
