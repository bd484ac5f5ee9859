"""The worker agent: registers, leases up to its capacity, heartbeats, runs jobs, drains on SIGTERM."""

import asyncio
import contextlib
import importlib.util
import os
import random
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import structlog
from opentelemetry.trace import SpanKind

from conveyor_client import AuthenticationError, ConflictError, ConveyorError, WorkerApi
from conveyor_client.models import HeartbeatAnswer, Lease, WorkerCredentials
from conveyor_runtime.tracing import OFF, Tracing, start_tracing

from .calls import call_until_done
from .credentials import load_credentials, save_credentials
from .decisions import Backoff, heartbeat_interval_s, is_lease_lost_by_silence
from .health import serve_health
from .reporter import Reporter
from .run import JobRun, RunContext, install_tools

_log = structlog.get_logger("conveyor_worker")
_REGISTER_BACKOFF = Backoff(base_s=0.25, cap_s=5.0)  # a worker started with the stack waits for the gateway
_REGISTER_AUTH_ATTEMPTS = 8  # about 20 s of 401s before a wrong token is reported


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    """How this worker runs (the `conveyor worker` options)."""

    url: str
    token: str | None = None
    name: str = "worker"
    labels: tuple[str, ...] = ()
    capacity: int = 1
    credentials_file: Path = Path("~/.config/conveyor/worker.json")
    work_dir: Path = Path("/tmp/conveyor-work")
    recipe_handler: tuple[str, ...] = ()
    grace_s: float = 30.0
    kill_grace_s: float = 5.0
    heartbeat_s: float = 10.0
    lease_wait_s: float = 10.0
    output_buffer_bytes: int = 8 * 1024 * 1024
    env: dict[str, str] = field(default_factory=dict)
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    otlp_endpoint: str = ""
    """Export the runs' spans over OTLP/HTTP to this collector (else ``OTEL_EXPORTER_OTLP_ENDPOINT``)."""


class Agent:
    """One worker process. `request_stop` is what SIGTERM calls: the first drains, the second stops.

    With ``tracing`` on, each run is a span under its lease's trace context, current while the
    run reports (the ``api`` stamps it on every call, see ``run_agent``).
    """

    def __init__(self, settings: WorkerSettings, api: WorkerApi, *, tracing: Tracing = OFF) -> None:
        self.settings = settings
        self.api = api
        self.tracing = tracing
        self.runs: dict[str, JobRun] = {}
        self._draining = asyncio.Event()
        self._now = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._last_renewed: dict[str, float] = {}
        self._ctx: RunContext | None = None
        self._backoff = Backoff(base_s=0.5, cap_s=15.0)
        self.is_registered = False

    def request_stop(self) -> None:
        """First call: take nothing new, let runs finish within the grace period. Second: stop them now."""
        if self._draining.is_set():
            _log.warning("worker_stopping_now", runs=len(self.runs))
            self._now.set()
            for run in list(self.runs.values()):
                run.stop("shutdown")
            return
        _log.info("worker_draining", runs=len(self.runs), grace_s=self.settings.grace_s)
        self._draining.set()
        self._slot_freed.set()

    async def register(self) -> WorkerCredentials:
        """Use the saved credentials for this API, or register and save new ones."""
        path = self.settings.credentials_file.expanduser()
        saved = load_credentials(path, self.settings.url)
        if saved is not None:
            self.api.use_credentials(saved)
            return saved
        created = await self._register_new()
        save_credentials(path, self.settings.url, created)
        self.api.use_credentials(created)
        _log.info("worker_registered", worker_id=created.id, credentials=str(path))
        return created

    async def _register_new(self) -> WorkerCredentials:
        settings = self.settings
        for attempt in range(1, _REGISTER_AUTH_ATTEMPTS + 1):
            verdict, created, error = await call_until_done(
                "register", lambda: self.api.register(settings.name, settings.labels, settings.capacity),
                backoff=_REGISTER_BACKOFF,
            )  # fmt: skip
            if verdict == "ok" and created is not None:
                return created
            # A token issued a moment ago may not be known to the gateway yet: 401 is retried a while.
            if not isinstance(error, AuthenticationError) or attempt == _REGISTER_AUTH_ATTEMPTS:
                raise error or ConveyorError("registration failed")
            _log.warning("registration_refused", attempt=attempt, error=str(error).splitlines()[0])
            await asyncio.sleep(_REGISTER_BACKOFF.delay_s(attempt, random.random()))
        raise ConveyorError("registration failed")

    async def serve(self) -> None:
        """Run until drained: the lease loop, the heartbeat and every run, in one task group."""
        credentials = await self.register()
        self.is_registered = True
        work_root = self.settings.work_dir.expanduser() / credentials.id
        self._ctx = RunContext(
            api=self.api, api_url=self.settings.url, worker_id=credentials.id, worker_secret=credentials.secret,
            work_root=work_root,
            tools_dir=install_tools(work_root),
            base_env={**os.environ, **self.settings.env}, recipe_handler=self.settings.recipe_handler,
            kill_grace_s=self.settings.kill_grace_s, output_buffer_bytes=self.settings.output_buffer_bytes,
            reporter=Reporter(self.api, stamp=self.tracing.stamp),  # each report carries its run's context
        )  # fmt: skip
        _log.info("worker_started", worker_id=credentials.id, capacity=self.settings.capacity, url=self.settings.url)
        async with asyncio.TaskGroup() as group:
            beating = group.create_task(self._heartbeat_loop())
            await self._lease_loop(group)
            await self._drain()
            beating.cancel()
        _log.info("worker_stopped", worker_id=credentials.id)

    async def _lease_loop(self, group: asyncio.TaskGroup) -> None:
        failures = 0
        while not self._draining.is_set():
            free = self.settings.capacity - len(self.runs)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                # Never cancelled: a lease granted to a call we dropped would hold its job until expiry.
                batch = await self.api.lease(min(free, 100), self.settings.lease_wait_s)
            except ConveyorError as exc:
                failures += 1
                await self._lease_failed(exc, failures)
                continue
            failures = 0
            for lease in batch.leases:
                if self._draining.is_set():
                    group.create_task(self._give_back(lease))
                else:
                    self._start_run(group, lease)

    async def _lease_failed(self, exc: ConveyorError, failures: int) -> None:
        level = "error" if isinstance(exc, AuthenticationError) else "warning"
        if isinstance(exc, ConflictError) and exc.code == "worker_paused":
            level = "info"
        getattr(_log, level)("lease_failed", error=str(exc).splitlines()[0], failures=failures)
        delay = self._backoff.delay_s(failures, random.random())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._draining.wait(), delay)

    def _start_run(self, group: asyncio.TaskGroup, lease: Lease) -> None:
        assert self._ctx is not None
        run = JobRun(self._ctx, lease)
        self.runs[lease.lease_id] = run
        self._last_renewed[lease.lease_id] = time.monotonic()
        group.create_task(self._execute(run))

    async def _execute(self, run: JobRun) -> None:
        lease = run.lease
        carried = {"traceparent": lease.traceparent, "tracestate": lease.tracestate}
        parent = {key: value for key, value in carried.items() if value} or None
        try:
            with self.tracing.span(
                "worker run",
                parent=parent,
                kind=SpanKind.CONSUMER,
                attributes={"conveyor.job_id": lease.job.id, "conveyor.lease_id": lease.lease_id},
            ):
                await run.execute()
        except Exception:
            _log.exception("run_crashed", job_id=run.lease.job.id, lease_id=run.lease_id)
        finally:
            self.runs.pop(run.lease_id, None)
            self._last_renewed.pop(run.lease_id, None)
            self._slot_freed.set()

    async def _give_back(self, lease: Lease) -> None:
        """A lease that arrived while draining: hand it back at once, unrun."""
        await call_until_done("give back", lambda: self.api.finish(lease.lease_id, "skipped"), max_attempts=10)

    async def _drain(self) -> None:
        """Wait for the runs up to the grace period, then stop them (they report ``skipped``)."""
        if self.runs:
            _log.info("worker_waiting_for_runs", runs=len(self.runs))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._runs_ended_or_now(), self.settings.grace_s)
            for run in list(self.runs.values()):
                run.stop("shutdown")
        while self.runs:
            self._slot_freed.clear()
            await self._slot_freed.wait()

    async def _runs_ended_or_now(self) -> None:
        while self.runs and not self._now.is_set():
            self._slot_freed.clear()
            now = asyncio.ensure_future(self._now.wait())
            freed = asyncio.ensure_future(self._slot_freed.wait())
            await asyncio.wait([now, freed], return_when=asyncio.FIRST_COMPLETED)
            now.cancel()
            freed.cancel()

    async def _heartbeat_loop(self) -> None:
        failures = 0
        while True:
            lease_s = min((run.lease.lease_s for run in self.runs.values()), default=60)
            await asyncio.sleep(heartbeat_interval_s(lease_s, self.settings.heartbeat_s) if failures == 0 else 1.0)
            held = list(self.runs)

            async def beat(held: list[str] = held) -> HeartbeatAnswer:
                return await self.api.heartbeat(held, load=_load(), memory=_memory())

            verdict, answer, _error = await call_until_done("heartbeat", beat, max_attempts=1)
            now = time.monotonic()
            if verdict == "ok" and answer is not None:
                failures = 0
                for lease_id in held:
                    self._last_renewed[lease_id] = now
                for order in answer.stop:
                    run = self.runs.get(order.lease_id)
                    if run is not None:
                        run.stop(order.reason)
                continue
            failures += 1
            for lease_id, run in list(self.runs.items()):
                renewed = self._last_renewed.get(lease_id, now)
                if is_lease_lost_by_silence(renewed, now, run.lease.lease_s):
                    run.stop("lease_lost")


def _load() -> float | None:
    with contextlib.suppress(OSError):
        return os.getloadavg()[0]
    return None


def _memory() -> tuple[int, int] | None:
    try:
        memory = psutil.virtual_memory()
    except (OSError, RuntimeError):
        return None
    return memory.available // 2**20, memory.total // 2**20


def _watch_children_with_pidfds(loop: asyncio.AbstractEventLoop) -> None:
    """Learn of job processes' exits through pidfds in the event loop (Linux 5.3+), not a thread
    per process blocked in ``waitpid`` (Python 3.11's default watcher): profiled, those threads
    took a fifth of a no-op job's CPU on the worker. Python 3.12+ does this by itself."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return  # the kernel has no pidfds: keep the default watcher
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(loop)
        asyncio.get_event_loop_policy().set_child_watcher(watcher)


def _remember_missing_sniffio() -> None:
    """httpcore imports ``sniffio`` on every request to learn the async library, and a failed
    import is not cached: without the package, each call searched the whole ``sys.path`` again
    (profiled: about a twelfth of the worker's CPU per no-op job). Record once that it is absent;
    httpcore then assumes asyncio, as it did."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # "import sniffio" now fails at once


async def run_agent(settings: WorkerSettings) -> None:
    """Run a worker until SIGTERM/SIGINT (twice: at once)."""
    loop = asyncio.get_running_loop()
    _watch_children_with_pidfds(loop)
    _remember_missing_sniffio()
    tracing = start_tracing("conveyor-worker", endpoint=settings.otlp_endpoint)
    async with WorkerApi(settings.url, token=settings.token, stamp=tracing.stamp) as api:
        agent = Agent(settings, api, tracing=tracing)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.request_stop)
        health = None
        if settings.health_port is not None:
            health = await serve_health(settings.health_host, settings.health_port, lambda: agent.is_registered)
        try:
            await agent.serve()
        finally:
            await asyncio.to_thread(tracing.shutdown)  # exports the spans still buffered
            if health is not None:
                health.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
