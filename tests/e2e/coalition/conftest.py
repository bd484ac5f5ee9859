"""One stack (NATS, PostgreSQL, scheduler, log collector, gateway) for the whole coalition package:
its tests share it, so each starts nothing; each test keeps to its own jobs (their ids and
affinities) and worker names."""

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conveyor_devstack import NatsServer, Postgres, free_port
from conveyor_events import ensure_streams, events_stream_config
from conveyor_gateway.app import create_app
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_identity import provision_admin_token
from conveyor_logs.app import serve as serve_logs
from conveyor_logs.settings import Settings as LogsSettings
from conveyor_runtime import connect_nats, create_pool, serve_http
from conveyor_scheduler.app import serve as serve_scheduler
from conveyor_scheduler.settings import Settings as SchedulerSettings

from ..conftest import Service, _ready, scheduler_serving

_numbers = itertools.count(1)
TRUSTED = "127.0.0.1/32"
"""The network trusted in these tests: calls from 127.0.0.2 (also loopback) are not."""


@pytest.fixture(scope="package")
def module_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base: Path = tmp_path_factory.mktemp("coalition-nats")
    server = NatsServer(base / "nats", log_file=base / "nats-server.log")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="package")
def module_database(postgres_server: Postgres) -> str:
    name = f"coalition_{next(_numbers)}"
    postgres_server.create_database(name, exist_ok=False)
    return postgres_server.dsn(name)


@dataclass(frozen=True)
class Stack:
    """Clients of the running stack, both with the admin's token: the façade under
    ``/compat/coalition`` and the native API."""

    coalition: httpx.AsyncClient
    native: httpx.AsyncClient
    token: str
    farm: httpx.AsyncClient
    """No credentials, at the root of the façade's own port, from loopback (trusted): the stock
    worker's and client's view (they take a host and a port)."""
    port: int


async def _token(nats_url: str, database_url: str) -> str:
    nc = await connect_nats(nats_url, name="coalition-admin", timeout_s=10)
    pool = await create_pool(database_url, timeout_s=10)
    try:
        await ensure_streams(nc.jetstream(), [events_stream_config(duplicate_window_s=1.0)])
        return await provision_admin_token(nc, pool, "coalition")
    finally:
        await nc.drain()
        await pool.close()


@pytest.fixture(scope="package")
async def stack(module_nats: str, module_database: str) -> AsyncIterator[Stack]:
    """The whole stack, started once for the package."""
    token = await _token(module_nats, module_database)
    url, dsn, level = module_nats, module_database, "warning"
    scheduler_settings = SchedulerSettings(nats_url=url, database_url=dsn, http_port=free_port(), log_level=level,
                                           events_duplicate_window_s=1.0)  # fmt: skip
    scheduler = Service(lambda stop: serve_scheduler(scheduler_settings, stop))
    logs_settings = LogsSettings(nats_url=url, database_url=dsn, http_port=free_port(), log_level=level,
                                 events_duplicate_window_s=1.0)  # fmt: skip
    collector = Service(lambda stop: serve_logs(logs_settings, stop))
    port, own = free_port(), free_port()
    app = create_app(GatewaySettings(nats_url=url, database_url=dsn, http_port=port, log_level=level,
                                     events_duplicate_window_s=1.0, write_wait_ms=2000,
                                     compat_ports=f"coalition={own}",
                                     compat_trust=f"coalition:{TRUSTED}@admin"))  # fmt: skip
    gateway = Service(lambda stop: serve_http(app, "127.0.0.1", port, stop, lifespan=True, extra_ports=[own]))
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as native,
            httpx.AsyncClient(base_url=f"{base}/compat/coalition", headers=headers, timeout=10) as client,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{own}", timeout=10) as farm,
        ):
            await _ready(native)
            await scheduler_serving(module_nats)
            yield Stack(coalition=client, native=native, token=token, farm=farm, port=own)
    finally:
        for service in (gateway, collector, scheduler):
            await service.stop()
