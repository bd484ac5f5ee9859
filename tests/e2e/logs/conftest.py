"""Fixtures for output tests: the log collector runs in-process beside the gateway and the
scheduler, and a helper runs a worker's side of a job (register, submit, lease, start)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest

from conveyor_devstack import free_port
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_logs.app import serve as serve_collector
from conveyor_logs.settings import Settings as CollectorSettings

from ..conftest import Service

ARTIFACT_LIMIT = 2 * 1024 * 1024


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    """The parent's gateway settings with a 2 MiB artifact limit (so 413 is cheap to reach)."""
    return msgspec.structs.replace(gateway_settings, artifact_max_bytes=ARTIFACT_LIMIT)


def collector_settings(nats_url: str, database_url: str, **overrides: Any) -> CollectorSettings:
    """Collector settings for a test: free health port, quiet logs, fast progress."""
    base = CollectorSettings(
        nats_url=nats_url,
        database_url=database_url,
        http_port=free_port(),
        log_level="warning",
        progress_interval_s=0.2,
    )
    return msgspec.structs.replace(base, **overrides)


@pytest.fixture
def start_collector(nats_url: str, database_url: str) -> Callable[..., Service]:
    """Starts the log collector in this loop (call it, with setting overrides; stopped by the test)."""

    def start(**overrides: Any) -> Service:
        settings = collector_settings(nats_url, database_url, **overrides)
        return Service(lambda stop: serve_collector(settings, stop))

    return start


@pytest.fixture
async def stack(api: httpx.AsyncClient, nats_url: str, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Gateway, scheduler and a log collector that leads and folds: a client of the whole output path."""
    settings = collector_settings(nats_url, database_url)
    collector = Service(lambda stop: serve_collector(settings, stop))
    await collector_leading(settings.http_port)
    yield api
    await collector.stop()


async def collector_leading(port: int, within_s: float = 60) -> None:
    """Wait until the collector on health port ``port`` leads: its projectors' checks are in its
    /readyz only then. Output sent before would wait in LOGS for a collector still starting up,
    and a test's own wait would time the start-up instead of the collector (a busy machine)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=3) as client, asyncio.timeout(within_s):
        while True:
            try:
                ready = await client.get("/readyz")
                if ready.status_code == 200 and "projector:log-collector" in ready.json()["checks"]:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


class Run:
    """A worker holding a started lease on one job."""

    def __init__(self, api: httpx.AsyncClient, worker: dict[str, Any], job_id: str, lease_id: str) -> None:
        self.api = api
        self.worker = worker
        self.worker_id = worker["id"]
        self.auth = httpx.BasicAuth(worker["id"], worker["secret"])
        self.job_id = job_id
        self.lease_id = lease_id

    async def log(self, offset: int, data: bytes, task: str | None = None) -> httpx.Response:
        params: dict[str, Any] = {"offset": offset} | ({"task": task} if task else {})
        return await self.api.post(
            f"/v1/leases/{self.lease_id}/log",
            params=params,
            content=data,
            auth=self.auth,
            headers={"content-type": "application/octet-stream"},
        )

    async def finish(self, result: str = "succeeded") -> httpx.Response:
        body = {"result": result, "exit_code": 0}
        return await self.api.post(f"/v1/leases/{self.lease_id}/finish", json=body, auth=self.auth)


async def start_run(api: httpx.AsyncClient, **job: Any) -> Run:
    """Register a worker, submit a job, lease it and start it."""
    registered = await api.post("/v1/workers", json={"name": "w"})
    assert registered.status_code == 201, registered.text
    worker = registered.json()
    submitted = await api.post("/v1/jobs", json={"command": "make", **job})
    assert submitted.status_code == 201, submitted.text
    auth = httpx.BasicAuth(worker["id"], worker["secret"])
    leased = await api.post(f"/v1/workers/{worker['id']}/lease", json={"max": 1, "wait_s": 5}, auth=auth)
    [lease] = leased.json()["leases"]
    started = await api.post(f"/v1/leases/{lease['lease_id']}/start", auth=auth)
    assert started.status_code == 200, started.text
    return Run(api, worker, submitted.json()["id"], lease["lease_id"])


async def wait_for_log(api: httpx.AsyncClient, job_id: str, size: int, **params: Any) -> httpx.Response:
    """The job's log once the collector stored ``size`` bytes of it."""
    for _ in range(400):
        response = await api.get(f"/v1/jobs/{job_id}/log", params=params)
        if int(response.headers.get("content-length", 0)) >= size:
            return response
        await asyncio.sleep(0.025)
    raise TimeoutError(f"log of {job_id} stayed at {response.headers.get('content-length')} < {size}")


async def wait_for_size(api: httpx.AsyncClient, job_id: str, size: int) -> None:
    """Wait until the collector stored ``size`` bytes of the job's log, without reading it."""
    for _ in range(1200):
        response = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": "bytes=0-0"})
        total = int(response.headers.get("content-range", "/0").rpartition("/")[2])
        if total >= size:
            return
        await asyncio.sleep(0.025)
    raise TimeoutError(f"log of {job_id} stayed at {total} < {size}")
