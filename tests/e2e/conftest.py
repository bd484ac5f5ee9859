"""E2E fixtures: the scheduler and the gateway run in-process against real NATS and PostgreSQL;
tests talk to the gateway over real HTTP only."""

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import nats.errors
import pytest

from conveyor_devstack import free_port
from conveyor_events import ensure_streams, events_stream_config, scheduler_subject
from conveyor_events.scheduler_api import LeaseRequest
from conveyor_gateway.app import create_app
from conveyor_gateway.http.ports import parse_port_map
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_identity import provision_admin_token
from conveyor_logs.app import serve as serve_logs
from conveyor_logs.settings import Settings as LogsSettings
from conveyor_runtime import connect_nats, create_pool, serve_http
from conveyor_scheduler.app import serve as serve_scheduler
from conveyor_scheduler.settings import Settings as SchedulerSettings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)


class Service:
    """A service task with its stop event."""

    def __init__(self, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(run(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 15)


@pytest.fixture
def gateway_settings(nats_url: str, database_url: str) -> GatewaySettings:
    """Gateway settings for this test: free port, 1 s duplicate window, 2 s write wait."""
    return GatewaySettings(
        nats_url=nats_url,
        database_url=database_url,
        http_port=free_port(),
        write_wait_ms=2000,
        events_duplicate_window_s=1.0,
        log_level="warning",
    )


@pytest.fixture
def start_scheduler(nats_url: str, database_url: str) -> Callable[[], Service]:
    """Starts the scheduler in this loop (call it; stopped by the test or at teardown)."""

    def start() -> Service:
        settings = SchedulerSettings(
            nats_url=nats_url,
            database_url=database_url,
            http_port=free_port(),
            events_duplicate_window_s=1.0,
            log_level="warning",
        )
        return Service(lambda stop: serve_scheduler(settings, stop))

    return start


async def _ready(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError("gateway not ready")


@pytest.fixture
async def admin_token(nats_url: str, database_url: str) -> str:
    """An API token of the admin user with every scope, usable before the scheduler starts."""
    nc = await connect_nats(nats_url, name="e2e-admin", timeout_s=10)
    pool = await create_pool(database_url, timeout_s=10)
    try:
        await ensure_streams(nc.jetstream(), [events_stream_config(duplicate_window_s=1.0)])
        return await provision_admin_token(nc, pool, "e2e")
    finally:
        await nc.drain()
        await pool.close()


@pytest.fixture
async def anonymous(gateway_settings: GatewaySettings, gateway: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same gateway that sends no credentials."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_settings.http_port}", timeout=10) as client:
        yield client


@pytest.fixture
async def gateway(gateway_settings: GatewaySettings, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client (authenticated with the admin token) for a gateway served by uvicorn in this loop."""
    app = create_app(gateway_settings)
    own_ports = list(parse_port_map(gateway_settings.compat_ports).values())  # façades' own ports, if set
    service = Service(
        lambda stop: serve_http(
            app, "127.0.0.1", gateway_settings.http_port, stop, lifespan=True, extra_ports=own_ports
        )
    )
    base_url = f"http://127.0.0.1:{gateway_settings.http_port}"
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=headers) as client:
        await _ready(client)
        yield client
    await service.stop()


async def scheduler_serving(nats_url: str) -> None:
    """Wait until a scheduler leads and answers calls (a worker's first lease would get 503 before)."""
    nc = await nats.connect(nats_url)
    try:
        ask = msgspec.json.encode(LeaseRequest(worker_id="readiness-probe"))
        for _ in range(400):
            try:
                await nc.request(scheduler_subject("lease"), ask, timeout=0.5)
                return
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                await asyncio.sleep(0.05)
        raise TimeoutError("no scheduler answered calls")
    finally:
        await nc.close()


@pytest.fixture
async def api(
    gateway: httpx.AsyncClient, start_scheduler: Callable[[], Service], nats_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The whole write/read path: a gateway client with the scheduler running and serving calls."""
    scheduler = start_scheduler()
    await scheduler_serving(nats_url)
    yield gateway
    await scheduler.stop()


@pytest.fixture
async def log_collector(nats_url: str, database_url: str) -> AsyncIterator[None]:
    """The log collector running in this loop (logs, progress and artifacts become readable)."""
    settings = LogsSettings(
        nats_url=nats_url, database_url=database_url, http_port=free_port(), log_level="warning",
        events_duplicate_window_s=1.0,
    )  # fmt: skip
    service = Service(lambda stop: serve_logs(settings, stop))
    yield
    await service.stop()


@pytest.fixture
def api_token(admin_token: str) -> str | None:
    """The token the CLI and the workers' registrations send as ``Authorization: Bearer`` (the admin's)."""
    return admin_token


@pytest.fixture
def api_url(api: httpx.AsyncClient) -> str:
    """The base URL of the running API (gateway and scheduler)."""
    return str(api.base_url).rstrip("/")


@pytest.fixture
def cli_env(api_url: str, api_token: str | None, tmp_path: Path) -> dict[str, str]:
    """The environment of `conveyor` subprocesses: the API's URL and token, an empty config file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONVEYOR_")}
    env |= {"CONVEYOR_URL": api_url, "CONVEYOR_CONFIG": str(tmp_path / "no-config.toml"), "PYTHONUNBUFFERED": "1"}
    if api_token is not None:
        env["CONVEYOR_TOKEN"] = api_token
    return env


class CliResult:
    """The exit status and output of one `conveyor` run."""

    def __init__(self, status: int, stdout: bytes, stderr: bytes) -> None:
        self.status = status
        self.stdout = stdout.decode()
        self.stderr = stderr.decode()

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def conveyor(cli_env: dict[str, str]) -> Callable[..., Awaitable[CliResult]]:
    """Runs ``conveyor <args>`` as a subprocess against the test's API; awaits its result."""

    async def run(*args: str, timeout_s: float = 60, env: dict[str, str] | None = None) -> CliResult:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "conveyor_cli", *args, env={**cli_env, **(env or {})},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
        assert proc.returncode is not None
        return CliResult(proc.returncode, stdout, stderr)

    return run


class WorkerProcess:
    """A `conveyor worker` subprocess; its log is in ``log_file``."""

    def __init__(self, proc: asyncio.subprocess.Process, log_file: Path, credentials: Path) -> None:
        self.proc = proc
        self.log_file = log_file
        self.credentials = credentials

    @property
    def id(self) -> str:
        return str(json.loads(self.credentials.read_text())["id"])

    async def registered(self, timeout_s: float = 20) -> str:
        for _ in range(int(timeout_s / 0.05)):
            if self.credentials.exists():
                return self.id
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"worker did not register; its log:\n{self.log_file.read_text()}")

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)

    async def wait(self, timeout_s: float = 30) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout_s)


@pytest.fixture
async def start_worker(
    cli_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[WorkerProcess]]]:
    """Starts `conveyor worker` subprocesses (fast heartbeats, short lease waits); stopped at teardown."""
    started: list[WorkerProcess] = []

    async def start(*args: str, name: str = "w", env: dict[str, str] | None = None) -> WorkerProcess:
        index = len(started)
        log_file = tmp_path / f"worker-{index}.log"
        credentials = tmp_path / f"worker-{index}.json"
        argv = [
            sys.executable, "-m", "conveyor_cli", "worker", "--name", name, "--credentials", str(credentials),
            "--work-dir", str(tmp_path / f"work-{index}"), "--lease-wait", "1", "--heartbeat", "1", *args,
        ]  # fmt: skip
        with log_file.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *argv, env={**cli_env, "CONVEYOR_LOG_LEVEL": "debug", **(env or {})}, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        worker = WorkerProcess(proc, log_file, credentials)
        started.append(worker)
        await worker.registered()
        return worker

    yield start
    for worker in started:
        if worker.proc.returncode is None:
            worker.signal(signal.SIGKILL)
            await worker.proc.wait()
