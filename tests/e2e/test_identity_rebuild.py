"""``conveyor-scheduler rebuild`` also rebuilds the identity projections (users and tokens, projects
with roles and worker access, job access lists): a shadow copy and an in-place rebuild both equal
what the live projectors built."""

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from conveyor_devstack import free_port
from conveyor_identity import shadow_schema
from conveyor_scheduler.app import rebuild
from conveyor_scheduler.settings import Settings as SchedulerSettings

from .conftest import Service, scheduler_serving
from .test_workers_api import register

TABLES = ("users", "tokens", "projects", "project_roles", "worker_access", "job_access")


async def snapshot(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t: [tuple(r.values()) for r in await conn.fetch(f"SELECT * FROM {schema}.{t} ORDER BY 1, 2")] for t in TABLES
    }


async def settled(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The live identity tables once two reads a moment apart agree (the projectors caught up)."""
    before = await snapshot(conn, "identity")
    for _ in range(50):
        await asyncio.sleep(0.2)
        now = await snapshot(conn, "identity")
        if now == before:
            return now
        before = now
    raise AssertionError("the identity projections never settled")


async def fill(api: httpx.AsyncClient) -> None:
    """One of each identity event, through the API."""
    user = (await api.post("/v1/users", json={"name": "rita"})).json()
    tokens = f"/v1/users/{user['id']}/tokens"
    kept = await api.post(tokens, json={"name": "kept", "scopes": ["jobs:read"]})
    dropped = await api.post(tokens, json={"name": "dropped", "scopes": ["jobs:read"]})
    assert kept.status_code == dropped.status_code == 201
    revoked = await api.delete(
        f"/v1/tokens/{dropped.json()['id']}", headers={"Authorization": f"Bearer {dropped.json()['token']}"}
    )
    assert revoked.status_code == 204, revoked.text
    assert (await api.post("/v1/projects", json={"name": "kept", "visibility": "hidden"})).status_code == 201
    assert (await api.patch("/v1/projects/kept", json={"motd": "hi", "priority": 3})).status_code == 200
    assert (await api.put(f"/v1/projects/kept/roles/{user['id']}", json={"roles": ["read"]})).status_code == 200
    worker = await register(api)
    grant = {"status": "granted", "assign": True, "submit": True}
    assert (await api.put(f"/v1/projects/kept/workers/{worker.id}", json=grant)).status_code == 200
    ask = {"project": "kept", "submit": True}  # a hidden project answers only a granted worker
    asked = await api.post(f"/v1/workers/{worker.id}/access-requests", json=ask, auth=worker.auth)
    assert asked.status_code == 202
    job = await api.post("/v1/jobs", json={"project": "kept", "command": "x", "execute": False, "read_access": ["*"]})
    assert job.status_code == 201, job.text
    assert (await api.put(f"/v1/jobs/{job.json()['id']}/access", json={"read": [user["id"]]})).status_code == 200


async def test_rebuild_rebuilds_the_identity_projections(
    gateway: httpx.AsyncClient, start_scheduler: Callable[[], Service], nats_url: str, database_url: str
) -> None:
    scheduler = start_scheduler()
    await scheduler_serving(nats_url)
    await fill(gateway)
    settings = SchedulerSettings(
        nats_url=nats_url, database_url=database_url, http_port=free_port(), log_level="warning"
    )
    conn = await asyncpg.connect(database_url)
    try:
        live = await settled(conn)
        assert all(live[t] for t in TABLES), live  # every table has rows to compare
        await rebuild(settings, into="shadow")  # beside the running scheduler
        assert await snapshot(conn, shadow_schema("shadow")) == live

        await scheduler.stop()
        await conn.execute("DELETE FROM identity.projects; UPDATE identity.tokens SET revoked_at = NULL")
        await conn.execute("DELETE FROM identity.job_access; DELETE FROM identity.worker_access")
        await rebuild(settings, into=None)
        assert await snapshot(conn, "identity") == live
    finally:
        await conn.close()
    # the rebuilt projections serve: the admin's token still works, the project is back
    assert (await gateway.get("/v1/projects/kept")).json()["motd"] == "hi"
