"""Output figures: log ingest MB/s, live-tail latency (worker write -> SSE reader), artifact
upload and download MB/s. The scheduler, gateway and log collector run as processes; one worker
identity drives them over HTTP from this process."""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx

from .http_load import percentile
from .stack import BenchStack

MIB: Final = 1024 * 1024
TAIL_TARGET_P99_MS: Final = 250.0


class _Run:
    """One leased, started job; ``log`` renews the lease every 10 s, as a worker's heartbeat does
    (a slow ingest on a busy machine outlives the lease otherwise)."""

    def __init__(
        self, api: httpx.AsyncClient, auth: httpx.BasicAuth, worker_id: str, job_id: str, lease_id: str
    ) -> None:
        self.api, self.auth, self.job_id, self.lease_id = api, auth, job_id, lease_id
        self.worker_id = worker_id
        self.renewed = time.monotonic()

    async def log(self, offset: int, data: bytes) -> None:
        if time.monotonic() - self.renewed > 10:
            self.renewed = time.monotonic()
            beat = {"leases": [self.lease_id]}
            await self.api.post(f"/v1/workers/{self.worker_id}/heartbeat", json=beat, auth=self.auth)
        response = await self.api.post(
            f"/v1/leases/{self.lease_id}/log", params={"offset": offset}, content=data, auth=self.auth
        )
        if response.status_code != 204:
            raise RuntimeError(f"log chunk refused: {response.status_code} {response.text[:200]}")


async def _start_run(api: httpx.AsyncClient) -> _Run:
    worker = (await api.post("/v1/workers", json={"name": "bench"})).json()
    auth = httpx.BasicAuth(worker["id"], worker["secret"])
    job = (await api.post("/v1/jobs", json={"project": "bench", "command": "cat big.log"})).json()
    leased = await api.post(f"/v1/workers/{worker['id']}/lease", json={"max": 1, "wait_s": 10}, auth=auth)
    [lease] = leased.json()["leases"]
    await api.post(f"/v1/leases/{lease['lease_id']}/start", auth=auth)
    return _Run(api, auth, worker["id"], job["id"], lease["lease_id"])


async def _stored(api: httpx.AsyncClient, job_id: str) -> int:
    response = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": "bytes=0-0"})
    return int(response.headers.get("content-range", "/0").rpartition("/")[2])


async def ingest(api: httpx.AsyncClient, megabytes: int, chunk_kib: int) -> dict[str, Any]:
    """One worker writes ``megabytes`` in ``chunk_kib`` chunks; accepted and collected MB/s."""
    run = await _start_run(api)
    chunk = (b"0123456789abcdef" * (chunk_kib * 64))[: chunk_kib * 1024]
    total = megabytes * MIB
    started = time.perf_counter()
    offset = 0
    while offset < total:
        await run.log(offset, chunk)
        offset += len(chunk)
    accepted = time.perf_counter() - started
    for _ in range(30_000):  # polled every 20 ms, up to 10 minutes
        if await _stored(api, run.job_id) >= offset:
            break
        await asyncio.sleep(0.02)
    collected = time.perf_counter() - started
    return {
        "scenario": f"log ingest, {megabytes} MiB in {chunk_kib} KiB chunks",
        "accepted_mb_per_s": offset / MIB / accepted,
        "collected_mb_per_s": offset / MIB / collected,
    }


async def tail_latency(api: httpx.AsyncClient, lines: int, rate: float) -> dict[str, Any]:
    """A worker writes a line every 1/rate s; an SSE reader timestamps each line's arrival."""
    run = await _start_run(api)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()

    async def read() -> None:
        url = f"/v1/jobs/{run.job_id}/log/stream"
        async with api.stream("GET", url, timeout=60) as response:
            buffer = ""
            ready.set()
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                buffer += json.loads(line[5:])["text"]
                *complete, buffer = buffer.split("\n")
                now = time.perf_counter()
                for text in complete:
                    latencies.append((now - sent[int(text.split()[1])]) * 1000)
                if len(latencies) >= lines:
                    return

    reader = asyncio.create_task(read())
    await ready.wait()
    await asyncio.sleep(0.2)
    offset = 0
    for i in range(lines):
        data = f"line {i} {'x' * 60}\n".encode()
        sent[i] = time.perf_counter()
        await run.log(offset, data)
        offset += len(data)
        await asyncio.sleep(1 / rate)
    await asyncio.wait_for(reader, 30)
    ordered = sorted(latencies)
    return {
        "scenario": f"live tail, {lines} lines at {rate:g}/s, write -> SSE reader",
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
        "target_p99_ms": TAIL_TARGET_P99_MS,
    }


async def artifacts(api: httpx.AsyncClient, megabytes: int) -> dict[str, Any]:
    """Upload (streamed) and download one artifact of ``megabytes``; MB/s each way."""
    run = await _start_run(api)
    block = os.urandom(MIB)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(megabytes):
            yield block

    started = time.perf_counter()
    put = await api.put(f"/v1/leases/{run.lease_id}/artifacts/out.bin", content=body(), auth=run.auth, timeout=300)
    if put.status_code != 201:
        raise RuntimeError(f"upload refused: {put.status_code} {put.text[:200]}")
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    size = 0
    async with api.stream("GET", f"/v1/jobs/{run.job_id}/artifacts/out.bin", timeout=300) as response:
        async for part in response.aiter_bytes():
            size += len(part)
    downloaded = time.perf_counter() - started
    if size != megabytes * MIB:
        raise RuntimeError(f"downloaded {size} bytes, uploaded {megabytes * MIB}")
    return {
        "scenario": f"artifact, {megabytes} MiB",
        "upload_mb_per_s": megabytes / uploaded,
        "download_mb_per_s": megabytes / downloaded,
    }


async def output_figures(stack: BenchStack, *, smoke: bool) -> list[dict[str, Any]]:
    """Every output figure, on a stack whose scheduler, gateway and collector run."""
    base = f"http://127.0.0.1:{stack.ports['gateway']}"
    # Every API call needs a token (issue 7); a worker's own calls override it with Basic auth.
    token = {"Authorization": f"Bearer {os.environ['CONVEYOR_TOKEN']}"}
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=token) as api:
        return [
            await ingest(api, 8 if smoke else 256, 1024),
            await ingest(api, 2 if smoke else 16, 4),
            await tail_latency(api, 30 if smoke else 500, 20.0 if smoke else 50.0),
            await artifacts(api, 4 if smoke else 256),
        ]
