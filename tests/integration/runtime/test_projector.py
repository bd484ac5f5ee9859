"""The checkpointed projector against real NATS and PostgreSQL: exactly once, resumable, rebuildable."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import (
    EVENTS_FILTER,
    EVENTS_STREAM,
    EventAppender,
    JobQueued,
    PendingAppend,
    job_subject,
    new_uuid7,
)
from conveyor_runtime import CHECKPOINT_MIGRATION, DbConnection, Projector, StreamEvent, apply_migrations

SCHEMA = "proj_test"
MIGRATIONS = [
    CHECKPOINT_MIGRATION,
    (2, "CREATE TABLE {schema}.applied (seq bigint PRIMARY KEY, n integer NOT NULL)"),
]


async def count_each(conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
    """A projection that would show any double application: it counts applications per event."""
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.applied (seq, n) VALUES ($1, 1) ON CONFLICT (seq) DO UPDATE SET n = applied.n + 1",
        [(e.seq,) for e in batch],
    )


async def publish(nc: NatsClient, n: int) -> int:
    events = []
    for _ in range(n):
        job = new_uuid7()
        events.append(
            PendingAppend(job_subject(job), JobQueued(event_id=new_uuid7(), job_id=job, occurred_at=datetime.now(UTC)))
        )
    appender = EventAppender(nc)
    outcomes = await appender.append_batch(events)
    await appender.close()
    return max(o.seq for o in outcomes if not isinstance(o, Exception))


def projector(js: JetStreamContext, pool: "asyncpg.Pool[Any]", **kw: Any) -> Projector:
    return Projector(
        name="counter",
        schema=SCHEMA,
        js=js,
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=EVENTS_FILTER,
        handler=count_each,
        batch_size=100,
        fetch_timeout_s=0.2,
        **kw,
    )


async def applied_counts(pool: "asyncpg.Pool[Any]") -> dict[int, int]:
    rows = await pool.fetch(f"SELECT seq, n FROM {SCHEMA}.applied")
    return {r["seq"]: r["n"] for r in rows}


async def test_each_event_is_applied_once_and_checkpointed(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    last = await publish(nc, 350)
    p = projector(js, pool)
    assert await p.prepare() == 0
    await p.catch_up(last, timeout_s=30)
    counts = await applied_counts(pool)
    assert sorted(counts) == list(range(1, last + 1))
    assert set(counts.values()) == {1}
    assert await p.read_checkpoint() == last
    await p.close()


async def test_a_redelivered_batch_is_not_applied_twice(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    await publish(nc, 50)
    p = projector(js, pool, ack_wait_s=1.0)
    await p.prepare()
    first: list[Any] = []
    while len(first) < 50:  # a batch holds whatever has arrived so far
        first += await p.fetch()
    assert await p.apply(first) == 50  # committed, never acknowledged
    redelivered: list[Any] = []
    for _ in range(40):  # the server redelivers after the 1 s ack wait
        redelivered += await p.fetch()
        if len(redelivered) >= 50:
            break
    assert [m.metadata.sequence.stream for m in redelivered] == [m.metadata.sequence.stream for m in first]
    assert redelivered[0].metadata.num_delivered == 2
    assert await p.apply(redelivered) == 0
    await p.ack(redelivered)
    assert set((await applied_counts(pool)).values()) == {1}
    await p.close()


async def test_killed_between_commit_and_ack_resumes_without_doubles(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    last = await publish(nc, 300)
    crashed = projector(js, pool)
    await crashed.prepare()
    msgs = await crashed.fetch()
    await crashed.apply(msgs)  # commit happened; the process "dies" before acking
    await crashed.close()

    restarted = projector(js, pool)
    assert await restarted.prepare() == msgs[-1].metadata.sequence.stream
    await restarted.catch_up(last, timeout_s=30)
    counts = await applied_counts(pool)
    assert sorted(counts) == list(range(1, last + 1))
    assert set(counts.values()) == {1}
    await restarted.close()


async def test_reset_rebuilds_from_sequence_one(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    last = await publish(nc, 120)
    p = projector(js, pool)
    await p.prepare()
    await p.catch_up(last, timeout_s=30)
    before = await applied_counts(pool)

    async def truncate(conn: DbConnection) -> None:
        await conn.execute(f"TRUNCATE {SCHEMA}.applied")

    await p.reset(truncate)
    assert await p.read_checkpoint() == 0
    assert await applied_counts(pool) == {}
    await p.prepare()
    await p.catch_up(last, timeout_s=30)
    assert await applied_counts(pool) == before
    await p.close()


async def test_commit_callback_reports_each_new_position(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    seen: list[int] = []

    async def on_commit(seq: int) -> None:
        seen.append(seq)

    p = projector(js, pool, on_commit=on_commit)
    await p.prepare()
    assert await p.step() == 0  # nothing yet: a quiet fetch times out and announces nothing
    last = await publish(nc, 10)
    await asyncio.wait_for(p.catch_up(last), 10)
    assert seen[-1] == last
    assert seen == sorted(seen)
    await p.close()
