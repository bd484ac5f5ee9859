"""The machine's raw ceilings, measured in the same run as the figures they bound.

- JetStream pipelined publish: pre-built event payloads (a real ``JobSubmitted``, encoded once)
  with nats-py's ``publish_async`` (up to 4,000 acks outstanding) into a file stream of its own;
- JetStream pull-consume: the same messages through ``ConsumerFeed`` (the projector's puller) on a
  durable consumer without acks: what any fold could read at most;
- PostgreSQL batched insert: rows shaped like the scheduler's (uuid, bigint, jsonb) with
  ``executemany`` in batches of 1,000, and with ``COPY``.
"""

import time
from typing import Any, Final

import asyncpg
import msgspec
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from conveyor_events import new_uuid7
from conveyor_runtime import connect_nats
from conveyor_runtime.feed import ConsumerFeed

from .scenarios import noop_submitted
from .stack import BenchStack

RAW_STREAM: Final = "BENCH_RAW"


async def jetstream_ceilings(stack: BenchStack, *, messages: int) -> list[dict[str, Any]]:
    nc = await connect_nats(stack.nats.url, name="bench-raw")
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=RAW_STREAM, subjects=["bench.raw.>"], storage=StorageType.FILE))
    payload = msgspec.json.encode(noop_submitted())
    try:
        started = time.perf_counter()
        pending = []
        for i in range(messages):
            pending.append(await js.publish_async(f"bench.raw.{i % 64}", payload))
            if len(pending) >= 2000:
                for f in pending:
                    await f
                pending.clear()
        for f in pending:
            await f
        publish_s = time.perf_counter() - started

        await js.add_consumer(RAW_STREAM, ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.NONE))
        feed = ConsumerFeed(nc, RAW_STREAM, "raw", batch=500)
        started = time.perf_counter()
        await feed.start()
        got = 0
        while got < messages:
            got += len(await feed.next_batch(5.0))
        consume_s = time.perf_counter() - started
        await feed.stop()
    finally:
        await js.delete_stream(RAW_STREAM)
        await nc.close()
    return [
        {
            "scenario": "raw JetStream pipelined publish (pre-built events)",
            "messages": messages,
            "payload_bytes": len(payload),
            "msgs_per_s": messages / publish_s,
        },
        {
            "scenario": "raw JetStream pull-consume (ConsumerFeed, no acks)",
            "messages": messages,
            "msgs_per_s": messages / consume_s,
        },
    ]


async def postgres_ceilings(stack: BenchStack, *, rows: int) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(stack.database_url)
    doc = msgspec.json.encode({"project": "bench", "title": "noop", "command": "true", "state": "queued"}).decode()
    data = [(new_uuid7(), i, doc) for i in range(rows)]
    results = []
    try:
        for how in ("executemany", "copy"):
            await conn.execute("DROP TABLE IF EXISTS bench_raw")
            await conn.execute("CREATE TABLE bench_raw (id uuid PRIMARY KEY, seq bigint NOT NULL, doc jsonb NOT NULL)")
            started = time.perf_counter()
            for start in range(0, rows, 1000):
                batch = data[start : start + 1000]
                async with conn.transaction():
                    if how == "copy":
                        await conn.copy_records_to_table("bench_raw", records=batch)
                    else:
                        await conn.executemany("INSERT INTO bench_raw VALUES ($1, $2, $3::jsonb)", batch)
            seconds = time.perf_counter() - started
            label = "executemany" if how == "executemany" else "COPY"
            results.append(
                {
                    "scenario": f"raw PostgreSQL batched insert ({label}, 1,000 rows per transaction)",
                    "rows": rows,
                    "rows_per_s": rows / seconds,
                }
            )
        await conn.execute("DROP TABLE bench_raw")
    finally:
        await conn.close()
    return results


async def ceilings(stack: BenchStack, *, messages: int, rows: int) -> list[dict[str, Any]]:
    return [*await jetstream_ceilings(stack, messages=messages), *await postgres_ceilings(stack, rows=rows)]
