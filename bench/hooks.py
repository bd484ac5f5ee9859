"""Webhook figures: event-to-first-attempt latency at a steady submit rate, and deliveries per
second to a fast receiver. Scheduler, gateway and hook dispatcher run as processes; the receiver
is a Starlette app in this process on 127.0.0.1 (allowed with CONVEYOR_HOOK_ALLOW_NETS)."""

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from conveyor_devstack import free_port
from conveyor_events import CommandPayload, EventAppender, JobSubmitted, PendingAppend, job_subject, new_uuid7
from conveyor_runtime import connect_nats

from .http_load import percentile
from .stack import BenchStack

LATENCY_TARGET_P99_MS: Final = 250.0
ALLOW: Final = {"CONVEYOR_HOOK_ALLOW_NETS": "127.0.0.0/8"}


class _Receiver:
    """The receiver process (``bench.hook_receiver``) and what it has seen."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.hook_receiver", str(self.port)],
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.first: dict[str, tuple[float, datetime]] = {}

    async def ready(self, client: httpx.AsyncClient) -> None:
        for _ in range(200):
            try:
                if (await client.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("the bench receiver did not start")

    async def wait_count(self, client: httpx.AsyncClient, n: int, within_s: float) -> None:
        async with asyncio.timeout(within_s):
            while True:
                seen = (await client.get(f"http://127.0.0.1:{self.port}/arrivals")).json()
                self.first = {k: (v[0], datetime.fromisoformat(v[1].replace("Z", "+00:00"))) for k, v in seen.items()}
                if len(self.first) >= n:
                    return
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def _hook(api: httpx.AsyncClient, receiver: _Receiver) -> str:
    created = await api.post(
        "/v1/hooks", json={"url": f"http://127.0.0.1:{receiver.port}/h", "events": ["job.submitted"]}
    )
    if created.status_code != 201:
        raise RuntimeError(f"hook not created: {created.status_code} {created.text[:200]}")
    me = await api.get("/v1/me")
    return str(me.json()["user_id"])


async def _latency(api: httpx.AsyncClient, receiver: _Receiver, events: int, rate: float) -> dict[str, Any]:
    """Submit ``events`` jobs open-loop at ``rate``/s; each submission is one matched event."""
    start = time.perf_counter()
    before = len(receiver.first)

    async def submit(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        await api.post("/v1/jobs", json={"project": "bench-hooks", "command": "true"})

    await asyncio.gather(*(submit(i) for i in range(events)))
    await receiver.wait_count(api, before + events, 60)
    delays = sorted((at - ts.timestamp()) * 1000 for at, ts in receiver.first.values())
    return {
        "scenario": f"event to first attempt, {events} events at {rate:g}/s",
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "max_ms": delays[-1],
        "target_p99_ms": LATENCY_TARGET_P99_MS,
    }


async def _throughput(stack: BenchStack, receiver: _Receiver, owner: str, events: int) -> dict[str, Any]:
    """Append ``events`` matched events at once (pipelined) and time their deliveries."""
    nc = await connect_nats(stack.nats.url, name="bench-hooks", timeout_s=10)
    appender = EventAppender(nc)
    await appender.start()
    before = len(receiver.first)
    now = datetime.now(UTC)
    batch = []
    for _ in range(events):
        job = new_uuid7()
        event = JobSubmitted(
            event_id=new_uuid7(),
            job_id=job,
            occurred_at=now,
            project="bench-burst",
            owner=owner,
            payload=CommandPayload(command="true"),
        )
        batch.append(PendingAppend(job_subject(job), event))
    started = time.perf_counter()
    for i in range(0, events, 1000):
        await appender.append_batch(batch[i : i + 1000])
    async with httpx.AsyncClient() as client:
        await receiver.wait_count(client, before + events, 300)
    elapsed = time.perf_counter() - started
    await appender.close()
    await nc.drain()
    return {"scenario": f"deliveries to a fast receiver, {events} events", "deliveries_per_s": events / elapsed}


async def hook_figures(stack: BenchStack, *, smoke: bool) -> list[dict[str, Any]]:
    receiver = _Receiver()
    token = os.environ["CONVEYOR_TOKEN"]
    base = f"http://127.0.0.1:{stack.ports['gateway']}"
    limits = httpx.Limits(max_connections=64)
    try:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30, limits=limits
        ) as api:
            await receiver.ready(api)
            owner = await _hook(api, receiver)
            rows = [await _latency(api, receiver, 50 if smoke else 1500, 100.0)]
            rows.append(await _throughput(stack, receiver, owner, 300 if smoke else 5000))
        return rows
    finally:
        receiver.stop()
