"""Per-project rate limits hold across gateways and scheduler failover: buckets live in PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from msgspec.structs import replace

from conveyor_devstack import free_port
from conveyor_gateway.app import create_app
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_runtime import serve_http

from .conftest import Service, _ready


@pytest.fixture
async def other_gateway(gateway_settings: GatewaySettings, api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second gateway on the same NATS and PostgreSQL, with the admin's credentials."""
    settings = replace(gateway_settings, http_port=free_port())
    service = Service(
        lambda stop: serve_http(create_app(settings), "127.0.0.1", settings.http_port, stop, lifespan=True)
    )
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10, headers=dict(api.headers)
    ) as client:
        await _ready(client)
        yield client
    await service.stop()


async def test_submission_limit_is_shared_by_gateways(api: httpx.AsyncClient, other_gateway: httpx.AsyncClient) -> None:
    created = await api.post("/v1/projects", json={"name": "slow", "submit_rate": 0.2, "submit_burst": 3})
    assert created.status_code == 201, created.text
    assert created.json()["submit_rate"] == 0.2
    job = {"project": "slow", "command": "true"}
    prefer = {"Prefer": "respond-async"}
    statuses = [(await gw.post("/v1/jobs", json=job)).status_code for gw in (api, other_gateway, api)]
    assert statuses == [201, 201, 201]
    refused = await other_gateway.post("/v1/jobs", json=job, headers=prefer)
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 5  # one token every 5 s
    too_big = await api.post("/v1/jobs/bulk", json={"jobs": [job] * 4})
    assert too_big.status_code == 429
    other = await api.post("/v1/jobs", json={"project": "fast", "command": "true"}, headers=prefer)
    assert other.status_code == 202  # other projects have their own bucket (none here)
    listed = await api.get("/v1/jobs", params={"project": "slow"})
    assert len(listed.json()["items"]) == 3  # nothing refused was stored


async def test_paused_projects_get_no_leases_until_resumed(api: httpx.AsyncClient) -> None:
    from .test_workers_api import register

    assert (
        await api.post("/v1/projects", json={"name": "held", "paused": True, "visibility": "public"})
    ).status_code == 201
    job = (await api.post("/v1/jobs", json={"project": "held", "command": "true"})).json()
    worker = await register(api, capacity=2)
    assert (await worker.lease(wait_s=0)).json() == {"leases": []}
    explained = (await api.get(f"/v1/jobs/{job['id']}/explain")).json()
    assert explained["reasons"][0]["code"] == "project_paused"
    waiting = asyncio.create_task(worker.lease(wait_s=10))
    assert (await api.patch("/v1/projects/held", json={"paused": False})).status_code == 200
    leased = await asyncio.wait_for(waiting, 5)  # woken when the project resumed
    assert [lease["job"]["id"] for lease in leased.json()["leases"]] == [job["id"]]


async def test_assignment_limit_holds_across_a_scheduler_failover(
    gateway: httpx.AsyncClient, start_scheduler: Callable[[], Service]
) -> None:
    from .test_workers_api import register

    api = gateway
    leader = start_scheduler()

    created = await api.post(
        "/v1/projects", json={"name": "trickle", "assign_rate": 0.25, "assign_burst": 1, "visibility": "public"}
    )
    assert created.status_code == 201
    for _ in range(3):
        assert (await api.post("/v1/jobs", json={"project": "trickle", "command": "true"})).status_code == 201
    worker = await register(api, capacity=10)
    first = await worker.lease(max=10, wait_s=0)
    assert len(first.json()["leases"]) == 1  # burst 1
    assert (await worker.lease(max=10, wait_s=0)).json() == {"leases": []}
    await leader.stop()
    standby = start_scheduler()
    loop = asyncio.get_running_loop()
    started = loop.time()
    got: list[object] = []
    while not got:  # the new leader serves within a second or so; the bucket is the same
        answer = await worker.lease(max=10, wait_s=0)
        if answer.status_code == 200:
            got = answer.json()["leases"]
        await asyncio.sleep(0.1)
    assert loop.time() - started >= 2.5  # the next token comes 4 s after the first, not at takeover
    assert len(got) == 1
    await standby.stop()
