"""Webhook fixtures: the hook dispatcher runs in-process beside the gateway and the scheduler,
with loopback allowed and fast retries; the receiver is a real HTTP server on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest

from conveyor_devstack import free_port
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_hooks.app import serve as serve_dispatcher
from conveyor_hooks.settings import Settings as DispatcherSettings

from ..conftest import Service
from .receiver import Receiver

LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    """The parent's gateway settings, with loopback allowed as a webhook target."""
    return msgspec.structs.replace(gateway_settings, hook_allow_nets=LOOPBACK)


@pytest.fixture
async def start_dispatcher(nats_url: str, database_url: str) -> AsyncIterator[Callable[..., Service]]:
    """Starts the dispatcher in this loop (call it, with setting overrides; stopped at teardown)."""
    started: list[Service] = []

    def start(**overrides: Any) -> Service:
        base = DispatcherSettings(
            nats_url=nats_url,
            database_url=database_url,
            http_port=free_port(),
            log_level="warning",
            hook_allow_nets=LOOPBACK,
            hook_timeout_s=2.0,
            hook_backoff_base_s=0.2,
            hook_backoff_max_s=1.0,
            hook_poll_s=0.1,
        )
        settings = msgspec.structs.replace(base, **overrides)
        service = Service(lambda stop: serve_dispatcher(settings, stop))
        started.append(service)
        return service

    yield start
    for service in started:
        if not service.task.done():
            await service.stop()


@pytest.fixture
async def hooks_api(api: httpx.AsyncClient, start_dispatcher: Callable[..., Service]) -> httpx.AsyncClient:
    """Gateway, scheduler and dispatcher (default test settings): a client of the webhook path."""
    start_dispatcher()
    return api


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver that answers 200 unless told otherwise."""
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def wait_until(check: Callable[[], Any], within_s: float = 10.0) -> Any:
    """Poll an async ``check`` until it returns something truthy."""
    async with asyncio.timeout(within_s):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


async def deliveries(api: httpx.AsyncClient, hook_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/hooks/{hook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
