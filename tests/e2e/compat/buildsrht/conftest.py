"""Fixtures for the builds.sr.ht façade: the whole stack (gateway, scheduler, log collector) and
users calling the façade as sourcehut's clients do (``Authorization: token <token>``)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec
import pytest

from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_logs.app import serve as serve_collector

from ...conftest import Service
from ...logs.conftest import collector_leading, collector_settings

PREFIX = "/compat/builds"


class Builds(httpx.AsyncClient):
    """A sourcehut client of the façade, as one user."""

    user_id: str
    name: str
    token: str


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    """The parent's gateway settings, with loopback allowed as a webhook target."""
    return msgspec.structs.replace(gateway_settings, hook_allow_nets="127.0.0.0/8")


@pytest.fixture
async def stack(api: httpx.AsyncClient, nats_url: str, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Gateway, scheduler and a leading log collector: a client of the whole output path (admin)."""
    settings = collector_settings(nats_url, database_url)
    collector = Service(lambda stop: serve_collector(settings, stop))
    await collector_leading(settings.http_port)
    yield api
    await collector.stop()


@pytest.fixture
async def builds_user(stack: httpx.AsyncClient) -> AsyncIterator[Callable[..., Awaitable[Builds]]]:
    """Makes users with jobs:read/jobs:write tokens; each a client sending ``token <token>``."""
    made: list[Builds] = []

    async def make(name: str, scopes: tuple[str, ...] = ("jobs:read", "jobs:write"), scheme: str = "token") -> Builds:
        user = await stack.post("/v1/users", json={"name": name})
        assert user.status_code == 201, user.text
        token = await stack.post(f"/v1/users/{user.json()['id']}/tokens", json={"name": "t", "scopes": list(scopes)})
        assert token.status_code == 201, token.text
        secret = token.json()["token"]
        client = Builds(
            base_url=f"{stack.base_url}{PREFIX}".rstrip("/"),
            timeout=10,
            headers={"Authorization": f"{scheme} {secret}"},
        )
        client.user_id, client.name, client.token = user.json()["id"], name, secret
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


async def wait_status(client: httpx.AsyncClient, number: int, statuses: set[str], within_s: float = 30) -> Any:
    """The job once its status is one of ``statuses`` (polled as hut polls it)."""
    async with asyncio.timeout(within_s):
        while True:
            job = (await client.get(f"/api/jobs/{number}")).json()
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.05)
