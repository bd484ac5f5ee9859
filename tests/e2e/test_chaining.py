"""Project chaining: a job that succeeds is copied into its project's chain target."""

import asyncio
from typing import Any

import httpx

from .test_job_commands import lease_one
from .test_workers_api import register


async def chained_copies(api: httpx.AsyncClient, project: str, expected: int) -> list[dict[str, Any]]:
    for _ in range(200):
        items: list[dict[str, Any]] = (await api.get("/v1/jobs", params={"project": project})).json()["items"]
        if len(items) >= expected:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"{project} has {items}")


async def test_a_succeeded_job_is_copied_into_the_chain_target_once(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/projects", json={"name": "deploy", "visibility": "public"})).status_code == 201
    build = {"name": "build", "visibility": "public", "chain_target": "deploy"}
    assert (await api.post("/v1/projects", json=build)).status_code == 201
    worker = await register(api, capacity=2)
    job = (await api.post("/v1/jobs", json={"project": "build", "command": "make", "title": "nightly"})).json()
    failing = (await api.post("/v1/jobs", json={"project": "build", "command": "false", "max_retries": 0})).json()
    for _ in range(2):
        lease = await lease_one(worker)
        ok = lease["job"]["id"] == job["id"]
        await worker.finish(lease["lease_id"], "succeeded" if ok else "failed", 0 if ok else 1)
    [copy] = await chained_copies(api, "deploy", 1)
    assert (copy["chained_from"], copy["title"], copy["payload"]["command"]) == (job["id"], "nightly", "make")
    assert copy["id"] != job["id"]
    assert copy["owner"] == job["owner"]
    await asyncio.sleep(0.5)
    assert len(await chained_copies(api, "deploy", 1)) == 1  # once, and not for the failed job
    assert failing["id"] not in {c.get("chained_from") for c in await chained_copies(api, "deploy", 1)}
    # The copy runs like any job; deploy has no chain target, so the chain ends there.
    second = await lease_one(worker)
    assert second["job"]["id"] == copy["id"]
