"""Webhook figures: event-to-first-attempt latency at a steady submit rate, and deliveries per
second to a fast receiver. Scheduler, gateway and hook dispatcher run as processes; the receiver
is a Starlette app in this process on 127.0.0.1 (allowed with CONVEYOR_HOOK_ALLOW_NETS)."""

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_devstack import free_port
from conveyor_events import CommandPayload, EventAppender, JobSubmitted, PendingAppend, job_subject, new_uuid7
from conveyor_runtime import connect_nats, serve_http

from .http_load import percentile
from .stack import BenchStack

LATENCY_TARGET_P99_MS: Final = 250.0
ALLOW: Final = {"CONVEYOR_HOOK_ALLOW_NETS": "127.0.0.0/8"}


class _Payload(msgspec.Struct):
    timestamp: datetime


class _Receiver:
    """Answers 204 at once and notes when each webhook-id first arrived (wall clock)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.first: dict[str, tuple[float, datetime]] = {}
        self.arrived = asyncio.Event()
        self.stop = asyncio.Event()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        now = time.time()
        msg_id = request.headers["webhook-id"]
        if msg_id not in self.first:
            self.first[msg_id] = (now, msgspec.json.decode(body, type=_Payload).timestamp)
            self.arrived.set()
        return Response(status_code=204)

    async def wait_count(self, n: int, within_s: float) -> None:
        async with asyncio.timeout(within_s):
            while len(self.first) < n:
                self.arrived.clear()
                await self.arrived.wait()


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
    await receiver.wait_count(before + events, 60)
    delays = sorted((at - ts.timestamp()) * 1000 for at, ts in list(receiver.first.values())[before:])
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
    await receiver.wait_count(before + events, 300)
    elapsed = time.perf_counter() - started
    await appender.close()
    await nc.drain()
    return {"scenario": f"deliveries to a fast receiver, {events} events", "deliveries_per_s": events / elapsed}


async def hook_figures(stack: BenchStack, *, smoke: bool) -> list[dict[str, Any]]:
    receiver = _Receiver()
    app = Starlette(routes=[Route("/h", receiver.handle, methods=["POST"])])
    server = asyncio.create_task(serve_http(app, "127.0.0.1", receiver.port, receiver.stop))
    token = os.environ["CONVEYOR_TOKEN"]
    base = f"http://127.0.0.1:{stack.ports['gateway']}"
    limits = httpx.Limits(max_connections=64)
    try:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30, limits=limits
        ) as api:
            owner = await _hook(api, receiver)
            rows = [await _latency(api, receiver, 50 if smoke else 1500, 100.0)]
            rows.append(await _throughput(stack, receiver, owner, 300 if smoke else 5000))
        return rows
    finally:
        receiver.stop.set()
        await server
