"""Fixtures for integration tests: a connected NATS client with the streams, and a pool."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import ensure_streams, events_stream_config, logs_stream_config
from conveyor_runtime import connect_nats, create_pool


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    """A NATS connection to this test's nats-server, with EVENTS (1 s duplicate window) and LOGS."""
    client = await connect_nats(nats_url, name="test", timeout_s=10)
    await ensure_streams(client.jetstream(), [events_stream_config(duplicate_window_s=1.0), logs_stream_config()])
    yield client
    await client.close()


@pytest.fixture
def js(nc: NatsClient) -> JetStreamContext:
    """The JetStream context of ``nc``."""
    return nc.jetstream()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator["asyncpg.Pool[Any]"]:
    """An asyncpg pool on this test's fresh database."""
    p = await create_pool(database_url, timeout_s=10)
    yield p
    await p.close()
