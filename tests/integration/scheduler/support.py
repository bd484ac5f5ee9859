"""Scheduler test helpers: build submissions, read the whole stream, compare projections."""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from conveyor_events import (
    EVENTS_FILTER,
    EVENTS_STREAM,
    CommandPayload,
    JobCancelRequested,
    JobSubmitted,
    decode_event,
    new_uuid7,
)


def submitted(job_id: str | None = None, **kw: Any) -> JobSubmitted:
    return JobSubmitted(
        event_id=new_uuid7(),
        job_id=job_id or new_uuid7(),
        occurred_at=datetime.now(UTC),
        project=kw.pop("project", "demo"),
        owner="tester",
        payload=CommandPayload(command="true"),
        **kw,
    )


def gate() -> JobSubmitted:
    """A held job for others to depend on: each job behind it needs exactly one scheduler
    decision (``job.blocked``), where a job with nothing to wait on is queued by its submission."""
    return submitted(execute=False)


def cancel_requested(job_id: str) -> JobCancelRequested:
    return JobCancelRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=datetime.now(UTC), reason="test")


async def read_stream(js: JetStreamContext) -> list[tuple[int, Any]]:
    """Every event in EVENTS, in order, as ``(seq, event)``."""
    info = await js.stream_info(EVENTS_STREAM)
    last = info.state.last_seq
    sub = await js.pull_subscribe(EVENTS_FILTER, stream=EVENTS_STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
    out: list[tuple[int, Any]] = []
    while not out or out[-1][0] < last:
        for msg in await sub.fetch(1000, timeout=5):
            out.append((msg.metadata.sequence.stream, decode_event(msg.subject, msg.data)))
    await sub.unsubscribe()
    return out


def decisions_per_job(events: list[tuple[int, Any]]) -> Counter[tuple[str, str]]:
    """How many of each decision each job got: ``(job_id, tag) -> count``."""
    counts: Counter[tuple[str, str]] = Counter()
    for _, event in events:
        tag = type(event).__struct_config__.tag
        if tag in ("job.queued", "job.blocked", "job.cancelled"):
            counts[(event.job_id, tag)] += 1
    return counts


async def table_rows(pool: "asyncpg.Pool[Any]", schema: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(f"SELECT * FROM {schema}.jobs ORDER BY submitted_seq")
    return [tuple(r.values()) for r in rows]
