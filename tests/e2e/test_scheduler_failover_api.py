"""A worker's calls ride through a moment with no scheduler (a failover) instead of failing."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import nats

from conveyor_scheduler.settings import Settings as SchedulerSettings

from ..integration.scheduler.test_chaos import SchedulerProcess, the_leader
from .conftest import Service, scheduler_serving
from .test_workers_api import register

TTL_S = 2
WAIT_S = 20.0  # the worker's long-poll: far longer than the takeover
RESUME_MARGIN_S = 4.0  # the new leader catches up before it serves calls; generous under load


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


async def test_a_lease_call_waiting_on_a_killed_leader_is_answered_by_the_next_one(
    gateway: httpx.AsyncClient, nats_url: str, database_url: str, tmp_path: Path
) -> None:
    """Issue 13: the call used to wait on the dead leader until its own timeout (wait + 5 s)."""
    settings = SchedulerSettings(nats_url=nats_url, database_url=database_url, leader_ttl_s=TTL_S)
    schedulers = [SchedulerProcess(settings, tmp_path / f"{n}.log") for n in ("a", "b")]
    for scheduler in schedulers:
        scheduler.start()
    try:
        await scheduler_serving(nats_url)
        worker = await register(gateway, labels=["failover"])
        nc = await nats.connect(nats_url)
        try:
            leader = await the_leader(schedulers, nc.jetstream())
        finally:
            await nc.close()
        waiting = asyncio.create_task(worker.lease(wait_s=WAIT_S))
        await asyncio.sleep(0.5)  # the call reaches the leader and waits there (nothing observable)
        assert not waiting.done()
        killed = time.monotonic()
        await asyncio.to_thread(leader.kill)
        submitted = await gateway.post("/v1/jobs", json={"command": "true", "labels": ["failover"]})
        assert submitted.status_code in (201, 202), submitted.text
        answer = await asyncio.wait_for(waiting, WAIT_S + 10)
        resumed_s = time.monotonic() - killed
        assert answer.status_code == 200, answer.text
        assert [lease["job"]["id"] for lease in answer.json()["leases"]] == [submitted.json()["id"]]
        print(f"lease call answered by the new leader {resumed_s:.2f} s after SIGKILL (TTL {TTL_S} s)")  # noqa: T201
        assert resumed_s < TTL_S + RESUME_MARGIN_S
    finally:
        for scheduler in schedulers:
            scheduler.stop()
