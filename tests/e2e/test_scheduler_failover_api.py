"""A worker's calls ride through a moment with no scheduler (a failover) instead of failing."""

import asyncio
import time
from collections.abc import Callable

import httpx

from .conftest import Service
from .test_workers_api import register


async def test_a_lease_call_made_while_no_scheduler_listens_is_answered_by_the_next_one(
    gateway: httpx.AsyncClient, start_scheduler: Callable[[], Service]
) -> None:
    first = start_scheduler()
    worker = await register(gateway, labels=["linux"])
    for _ in range(100):  # until the scheduler serves calls
        if (await worker.heartbeat()).status_code == 200:
            break
        await asyncio.sleep(0.05)
    await first.stop()  # releases the leader key; nobody listens for calls now
    asked = time.monotonic()
    leasing = asyncio.create_task(worker.lease(wait_s=1))
    await asyncio.sleep(0.5)
    assert not leasing.done()  # held by the gateway, not failed with 503
    second = start_scheduler()
    try:
        response = await asyncio.wait_for(leasing, 15)
        assert response.status_code == 200, response.text
        assert response.json()["leases"] == []
        assert time.monotonic() - asked > 0.5
    finally:
        await second.stop()
