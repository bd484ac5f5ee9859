"""A running projector resumes by itself after its nats-server or PostgreSQL restarts (issue 13).

Before the fix, the feed kept counting the pull requests that died with the server as owed and
never pulled again: the checkpoint stood still while the stream grew.
"""

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_devstack import NatsServer, Postgres
from conveyor_events import EVENTS_STREAM
from conveyor_runtime import Projector, apply_migrations, create_pool

from .test_projector import MIGRATIONS, SCHEMA, applied_counts, projector, publish

RESUME_BOUND_S = 10.0  # generous for a loaded 2-core machine; measured ~1 s when quiet


async def reach(p: Projector, seq: int, timeout_s: float) -> float:
    """Seconds until the running projector's stored checkpoint reaches ``seq``."""
    started = time.monotonic()
    while await p.read_checkpoint() < seq:
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"checkpoint stuck at {await p.read_checkpoint()} < {seq}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def publish_when_back(nc: NatsClient, n: int, timeout_s: float = 20) -> int:
    """Publish ``n`` events once the client has reconnected (appends fail while it is away)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await publish(nc, n)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("down_s", [0.4, 3.0], ids=["blip", "stop"])
async def test_the_projector_pulls_again_after_nats_restarts(
    nats_server: NatsServer, nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]", down_s: float
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    p = projector(js, pool)
    await p.prepare()
    stop = asyncio.Event()
    running = asyncio.create_task(p.run(stop))
    try:
        await reach(p, await publish(nc, 20), RESUME_BOUND_S)
        await asyncio.to_thread(nats_server.kill)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(nats_server.start)
        back = time.monotonic()
        last = await publish_when_back(nc, 30)
        await reach(p, last, RESUME_BOUND_S)
        print(f"nats down {down_s} s: checkpoint at the end {time.monotonic() - back:.2f} s after restart")  # noqa: T201
        assert set((await applied_counts(pool)).values()) == {1}  # nothing applied twice
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await p.close()


async def test_the_projector_recreates_its_consumer_when_it_is_gone(
    nc: NatsClient, js: JetStreamContext, pool: "asyncpg.Pool[Any]"
) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    p = projector(js, pool)
    await p.prepare()
    stop = asyncio.Event()
    running = asyncio.create_task(p.run(stop))
    try:
        await reach(p, await publish(nc, 10), RESUME_BOUND_S)
        await js.delete_consumer(EVENTS_STREAM, p.name)
        last = await publish(nc, 10)
        await reach(p, last, RESUME_BOUND_S)
        assert sorted(await applied_counts(pool)) == list(range(1, last + 1))
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await p.close()


async def test_the_projector_resumes_after_postgresql_restarts(
    own_postgres: Postgres, own_database_url: str, nc: NatsClient, js: JetStreamContext
) -> None:
    pool = await create_pool(own_database_url, timeout_s=10)
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    p = projector(js, pool)
    await p.prepare()
    stop = asyncio.Event()
    running = asyncio.create_task(p.run(stop))
    try:
        await reach(p, await publish(nc, 20), RESUME_BOUND_S)
        await asyncio.to_thread(own_postgres.stop)
        during = await publish(nc, 20)  # arrives while PostgreSQL is away
        await asyncio.sleep(1)
        assert not running.done()  # the outage did not end the loop
        await asyncio.to_thread(own_postgres.start)
        back = time.monotonic()
        last = await publish(nc, 10)
        assert last > during
        await reach(p, last, RESUME_BOUND_S)
        print(f"postgres down: checkpoint at the end {time.monotonic() - back:.2f} s after restart")  # noqa: T201
        assert set((await applied_counts(pool)).values()) == {1}
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await p.close()
        await pool.close()
