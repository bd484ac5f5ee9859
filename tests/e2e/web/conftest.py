"""The dashboard's browser tests: one stack per module (nats-server, a database, gateway,
scheduler, log collector, hook dispatcher), Debian's Chromium driven by Playwright (never a
downloaded browser), one browser per module and a fresh context (cookies) per sign-in. Tests
share the stack, so each uses names of its own and workers with labels of its own."""

import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from conveyor_devstack import DevstackError, NatsServer, Postgres, free_port
from conveyor_gateway.app import create_app
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_hooks.app import serve as serve_dispatcher
from conveyor_hooks.settings import Settings as DispatcherSettings
from conveyor_logs.app import serve as serve_logs
from conveyor_logs.settings import Settings as LogsSettings
from conveyor_runtime import serve_http
from conveyor_scheduler.app import serve as serve_scheduler
from conveyor_scheduler.settings import Settings as SchedulerSettings

from ..conftest import Service, _ready, scheduler_serving

CHROMIUM: Final = os.environ.get("CONVEYOR_CHROMIUM", "/usr/bin/chromium")
ARGS: Final = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOOPBACK: Final = "127.0.0.0/8"
_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test of the module uses (users, projects, labels)."""
    return f"{prefix}-{next(_names)}"


class Stack(msgspec.Struct):
    base_url: str
    admin_token: str
    api: httpx.AsyncClient


@pytest.fixture(scope="module")
def module_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server for the module."""
    directory = tmp_path_factory.mktemp("web-nats")
    server = NatsServer(directory / "nats", log_file=directory / "nats-server.log")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_database(postgres_server: Postgres) -> Iterator[str]:
    """A database for the module."""
    name = f"web_{os.getpid()}_{next(_names)}"
    postgres_server.create_database(name, exist_ok=False)
    yield postgres_server.dsn(name)
    with contextlib.suppress(DevstackError):
        postgres_server.drop_database(name)


@pytest.fixture(scope="module")
async def stack(module_nats: str, module_database: str) -> AsyncIterator[Stack]:
    """Gateway, scheduler, log collector and hook dispatcher, started once for the module."""
    from conveyor_events import ensure_streams, events_stream_config
    from conveyor_identity import provision_admin_token
    from conveyor_runtime import connect_nats, create_pool

    nc = await connect_nats(module_nats, name="web-admin", timeout_s=10)
    pool = await create_pool(module_database, timeout_s=10)
    try:
        await ensure_streams(nc.jetstream(), [events_stream_config(duplicate_window_s=1.0)])
        token = await provision_admin_token(nc, pool, "web")
    finally:
        await nc.drain()
        await pool.close()
    common: dict[str, Any] = {"nats_url": module_nats, "database_url": module_database, "log_level": "warning"}
    gateway = GatewaySettings(**common, http_port=free_port(), write_wait_ms=2000, events_duplicate_window_s=1.0,
                              hook_allow_nets=LOOPBACK)  # fmt: skip
    services = [
        Service(lambda stop: serve_http(create_app(gateway), "127.0.0.1", gateway.http_port, stop, lifespan=True)),
        Service(lambda stop: serve_scheduler(SchedulerSettings(**common, http_port=free_port(),
                                                               events_duplicate_window_s=1.0), stop)),
        Service(lambda stop: serve_logs(LogsSettings(**common, http_port=free_port(),
                                                     events_duplicate_window_s=1.0), stop)),
        Service(lambda stop: serve_dispatcher(DispatcherSettings(**common, http_port=free_port(),
                hook_allow_nets=LOOPBACK, hook_timeout_s=2.0, hook_backoff_base_s=0.2, hook_backoff_max_s=1.0,
                hook_poll_s=0.1), stop)),
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{gateway.http_port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=headers) as client:
            await _ready(client)
            await scheduler_serving(module_nats)
            yield Stack(base_url=base_url, admin_token=token, api=client)
    finally:
        for service in reversed(services):
            await service.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the module."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (scripts/ensure-chromium.sh)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        await browser.close()


async def sign_in(browser: Browser, base_url: str, token: str, *, dark: bool = False) -> tuple[BrowserContext, Page]:
    """A new browser context signed in to the dashboard with ``token``."""
    context = await browser.new_context(
        base_url=base_url, color_scheme="dark" if dark else "light", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto("/ui/")
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/ui/overview")
    return context, page
