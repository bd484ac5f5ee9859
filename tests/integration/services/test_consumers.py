"""The hook dispatcher starts, consumes its stream with a checkpoint and reports healthy (its
deliveries have their own tests in ``tests/e2e/hooks``). The log collector has its own tests in
``tests/integration/logs``."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from nats.aio.client import Client as NatsClient

from conveyor_devstack import free_port
from conveyor_events import EventAppender, JobQueued, PendingAppend, job_subject, new_uuid7
from conveyor_hooks.app import CONSUMER as HOOKS_CONSUMER
from conveyor_hooks.app import serve as serve_hooks
from conveyor_hooks.settings import Settings as HooksSettings


async def checkpoint(pool: "asyncpg.Pool[Any]", schema: str, consumer: str) -> int | None:
    try:
        value = await pool.fetchval(f"SELECT stream_seq FROM {schema}.checkpoints WHERE consumer = $1", consumer)
    except asyncpg.UndefinedTableError:
        return None
    return None if value is None else int(value)


async def publish_events(nc: NatsClient, n: int) -> None:
    appender = EventAppender(nc)
    jobs = [new_uuid7() for _ in range(n)]
    await appender.append_batch(
        [
            PendingAppend(job_subject(j), JobQueued(event_id=new_uuid7(), job_id=j, occurred_at=datetime.now(UTC)))
            for j in jobs
        ]
    )
    await appender.close()


async def test_hook_dispatcher_checkpoints_and_reports_healthy(
    nc: NatsClient, pool: "asyncpg.Pool[Any]", nats_url: str, database_url: str
) -> None:
    port = free_port()
    settings = HooksSettings(nats_url=nats_url, database_url=database_url, http_port=port, log_level="warning")
    stop = asyncio.Event()
    service = asyncio.create_task(serve_hooks(settings, stop))
    schema, name = "hooks", HOOKS_CONSUMER
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # Ready, and once this copy leads (it holds the leader key: no other copy runs) its
            # projector's stall check joins the dependencies' (issue 13).
            expected = {"status": "ready", "checks": {"nats": "ok", "postgres": "ok", f"projector:{name}": "ok"}}
            for _ in range(200):
                try:
                    ready = await client.get("/readyz")
                    if ready.status_code == 200 and ready.json() == expected:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            assert ready.json() == expected
            await publish_events(nc, 25)
            for _ in range(200):
                if await checkpoint(pool, schema, name) == 25:
                    break
                await asyncio.sleep(0.05)
            assert await checkpoint(pool, schema, name) == 25
            metrics = (await client.get("/metrics")).text
            assert f'conveyor_projector_position{{consumer="{name}"}} 25.0' in metrics
            assert "conveyor_webhook_deliveries_matched_total" in metrics  # no hook: nothing matched
            assert "conveyor_webhook_attempt_seconds_count" in metrics
    finally:
        stop.set()
        await asyncio.wait_for(service, 15)
