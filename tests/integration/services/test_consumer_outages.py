"""The hook dispatcher and the log collector's event projector keep folding across a restart of
the real nats-server and of the real PostgreSQL, without being restarted themselves (issue 13)."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient

from conveyor_devstack import NatsServer, Postgres, free_port
from conveyor_hooks.app import CONSUMER as HOOKS_CONSUMER
from conveyor_hooks.app import serve as serve_hooks
from conveyor_hooks.settings import Settings as HooksSettings
from conveyor_logs.app import EVENTS_CONSUMER as COLLECTOR_EVENTS
from conveyor_logs.app import serve as serve_logs
from conveyor_logs.settings import Settings as LogsSettings
from conveyor_runtime import create_pool

from .test_consumers import checkpoint, publish_events

CONSUMERS = (("hooks", HOOKS_CONSUMER), ("logs", COLLECTOR_EVENTS))
RESUME_BOUND_S = 15.0


@pytest.fixture
async def services(nats_url: str, own_database_url: str) -> AsyncIterator[list["asyncio.Task[None]"]]:
    """The hook dispatcher and the log collector, in this loop, on a PostgreSQL the test restarts."""
    stop = asyncio.Event()
    common: dict[str, Any] = {"nats_url": nats_url, "database_url": own_database_url, "log_level": "warning"}
    tasks = [
        asyncio.create_task(serve_hooks(HooksSettings(http_port=free_port(), **common), stop)),
        asyncio.create_task(serve_logs(LogsSettings(http_port=free_port(), **common), stop)),
    ]
    yield tasks
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def last_seq(nc: NatsClient) -> int:
    return int((await nc.jetstream().stream_info("EVENTS")).state.last_seq)


async def all_reach(pool: "asyncpg.Pool[Any]", seq: int, tasks: list["asyncio.Task[None]"]) -> float:
    """Seconds until every consumer's checkpoint reaches ``seq`` (the services must stay up)."""
    started = time.monotonic()
    while True:
        for task in tasks:
            assert not task.done(), task.exception()  # a service that ended did not ride it out
        try:
            reached = [await checkpoint(pool, schema, name) for schema, name in CONSUMERS]
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            reached = []
        if reached and all(r is not None and r >= seq for r in reached):
            return time.monotonic() - started
        if time.monotonic() - started > RESUME_BOUND_S:
            raise TimeoutError(f"checkpoints {reached} short of {seq}")
        await asyncio.sleep(0.1)


async def publish_when_back(nc: NatsClient, n: int) -> int:
    deadline = time.monotonic() + 20
    while True:
        try:
            await publish_events(nc, n)
            return await last_seq(nc)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_consumers_resume_after_nats_and_postgresql_restart(
    nc: NatsClient,
    nats_server: NatsServer,
    own_postgres: Postgres,
    own_database_url: str,
    services: list["asyncio.Task[None]"],
) -> None:
    pool = await create_pool(own_database_url, timeout_s=10)
    try:
        await publish_events(nc, 10)
        await all_reach(pool, await last_seq(nc), services)

        await asyncio.to_thread(nats_server.kill)
        await asyncio.sleep(3)
        await asyncio.to_thread(nats_server.start)
        resumed = await all_reach(pool, await publish_when_back(nc, 10), services)
        print(f"after a 3 s nats-server stop: checkpoints at the end {resumed:.2f} s after the publish")  # noqa: T201

        await asyncio.to_thread(own_postgres.stop)
        await publish_events(nc, 10)
        await asyncio.sleep(2)
        await asyncio.to_thread(own_postgres.start)
        resumed = await all_reach(pool, await last_seq(nc), services)
        print(f"after a 2 s PostgreSQL stop: checkpoints at the end {resumed:.2f} s after it was back")  # noqa: T201
    finally:
        await pool.close()
