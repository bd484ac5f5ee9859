"""Composition root of the gateway: ``create_app(settings)`` for uvicorn ``--factory``."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from conveyor_events import (
    EventAppender,
    ensure_artifact_bucket,
    ensure_streams,
    events_stream_config,
    logs_stream_config,
)
from conveyor_identity import ACCESS_CONSUMER, PROJECTS_CONSUMER, RATE_MIGRATIONS, RATE_SCHEMA
from conveyor_identity import CONSUMER as IDENTITY_CONSUMER
from conveyor_identity import MIGRATIONS as IDENTITY_MIGRATIONS
from conveyor_identity import SCHEMA as IDENTITY_SCHEMA
from conveyor_runtime import (
    PositionWatcher,
    ReadinessCheck,
    apply_migrations,
    configure_logging,
    connect_nats,
    create_pool,
    get_logger,
    health_routes,
    listen_socket,
    load_settings,
    nats_check,
    parse_nets,
    postgres_check,
    start_tracing,
)
from conveyor_runtime.pauses import LoopLagMonitor, watch_gc_pauses

from . import compat, native, web
from .core.context import State
from .core.explain_reader import ExplainReader
from .core.hook_reader import HookReader
from .core.identity_reader import IdentityReader
from .core.leader_watch import LeaderWatch
from .core.log_store import LogStore
from .core.log_writer import LogWriter
from .core.project_reader import ProjectReader
from .core.reader import JobReader
from .core.requester import Requester
from .core.submit_limits import SubmitLimiter
from .core.token_auth import TokenAuthenticator
from .core.trust import parse_trust
from .core.worker_auth import WorkerAuthenticator
from .core.worker_reader import WorkerReader
from .core.worker_status import open_status_bucket
from .errors import GatewayError
from .http.access import secure_routes
from .http.middleware import RequestContext
from .http.outage import OUTAGE_HANDLERS
from .http.ports import PortDispatch, parse_port_map
from .http.problems import gateway_problem, http_problem, unexpected_problem
from .http.query_guard import QueryTextGuard
from .http.route_index import IndexedRouter
from .http.tracing import TraceRequests
from .settings import Settings

SCHEDULER_CONSUMER: Final = "scheduler"
_log = get_logger("gateway")
COLLECTOR_CONSUMER: Final = "log-collector"
HOOKS_CONSUMER: Final = "hook-dispatcher"


async def _close_all(*closers: Callable[[], Awaitable[object]], budget_s: float = 8.0) -> None:
    """Run every closer in order within ``budget_s`` in all. One that fails (NATS gone at
    shutdown) or hangs (a drain waiting on a subscription) is logged, naming it, and the rest
    still run: a stopping gateway never hangs, and never leaves its pool or connection open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    for close in closers:
        step = getattr(close, "__qualname__", repr(close))
        remaining = max(0.5, deadline - loop.time())
        try:
            await asyncio.wait_for(close(), remaining)
        except TimeoutError:
            _log.warning("shutdown_step_timed_out", step=step, after_s=round(remaining, 2))
        except Exception as exc:
            _log.warning("shutdown_step_failed", step=step, error=repr(exc))


async def _close_pool(pool: "asyncpg.Pool[Any]", timeout_s: float = 3.0) -> None:
    """Close the pool, or terminate it when a connection is not given back in time."""
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        _log.warning("shutdown_pool_terminated", after_s=timeout_s)
        pool.terminate()


def create_app(settings: Settings | None = None, *, facades: Mapping[str, ASGIApp] | None = None) -> Starlette:
    """Build the gateway app; its lifespan opens NATS and PostgreSQL.

    ``facades`` replaces the façades (``compat.FACADES``), for tests.
    """
    settings = settings or load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    checks: dict[str, ReadinessCheck] = {}
    allow_nets = parse_nets(settings.hook_allow_nets)
    facades = compat.FACADES if facades is None else facades
    compat_ports = parse_port_map(settings.compat_ports, frozenset(facades))
    compat_trust = parse_trust(settings.compat_trust)
    tracing = start_tracing("conveyor-gateway", endpoint=settings.otlp_endpoint)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        # Artifact uploads feed nats-py's object store from a worker thread each (artifact_io):
        # room for many slow uploads at once without starving other executor users.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
        nc = await connect_nats(settings.nats_url, name="conveyor-gateway", timeout_s=settings.connect_timeout_s)
        js = nc.jetstream()
        await ensure_streams(
            js,
            [
                events_stream_config(
                    replicas=settings.events_replicas, duplicate_window_s=settings.events_duplicate_window_s
                ),
                logs_stream_config(replicas=settings.events_replicas),
            ],
        )
        pool = await create_pool(
            settings.database_url, max_size=settings.db_pool_size, timeout_s=settings.connect_timeout_s
        )
        # The identity tables exist before the first token lookup, whoever starts first.
        await apply_migrations(pool, IDENTITY_SCHEMA, IDENTITY_MIGRATIONS)
        await apply_migrations(pool, RATE_SCHEMA, RATE_MIGRATIONS)
        identity = IdentityReader(pool)
        identity_watcher = PositionWatcher(nc, IDENTITY_CONSUMER, identity.checkpoint)
        await identity_watcher.start()
        projects = ProjectReader(pool)
        projects_watcher = PositionWatcher(nc, PROJECTS_CONSUMER, lambda: projects.checkpoint(PROJECTS_CONSUMER))
        await projects_watcher.start()
        access_watcher = PositionWatcher(nc, ACCESS_CONSUMER, lambda: projects.checkpoint(ACCESS_CONSUMER))
        await access_watcher.start()
        logs = LogStore(pool)
        reader = JobReader(pool, logs)
        bucket = await ensure_artifact_bucket(
            js, replicas=settings.events_replicas, ttl_s=settings.artifact_retention_days * 86_400
        )
        workers = WorkerReader(pool)
        statuses = await open_status_bucket(js, replicas=settings.events_replicas)
        appender = EventAppender(nc, stamp=tracing.stamp)  # events carry the request's traceparent
        await appender.start()
        requester = Requester(nc, stamp=tracing.stamp)
        await requester.start()
        leader_watch = LeaderWatch(nc, requester)  # calls follow a new scheduler leader (issue 13)
        await leader_watch.start()
        watcher = PositionWatcher(nc, SCHEDULER_CONSUMER, lambda: reader.checkpoint(SCHEDULER_CONSUMER))
        await watcher.start()
        collector = PositionWatcher(nc, COLLECTOR_CONSUMER, lambda: logs.checkpoint(COLLECTOR_CONSUMER))
        await collector.start()
        hooks = HookReader(pool)
        hooks_watcher = PositionWatcher(nc, HOOKS_CONSUMER, lambda: hooks.checkpoint(HOOKS_CONSUMER))
        await hooks_watcher.start()
        checks.update(nats=nats_check(nc), postgres=postgres_check(pool))
        watch_gc_pauses("gateway")
        sampling_lag = asyncio.create_task(LoopLagMonitor("gateway").run(asyncio.Event()))  # issue 21
        try:
            yield State(
                nc=nc,
                js=js,
                requester=requester,
                appender=appender,
                reader=reader,
                workers=workers,
                auth=WorkerAuthenticator(workers),
                statuses=statuses,
                watcher=watcher,
                explainer=ExplainReader(pool),
                tokens=TokenAuthenticator(identity, ttl_s=settings.token_cache_s),
                identity=identity,
                identity_watcher=identity_watcher,
                projects=projects,
                projects_watcher=projects_watcher,
                access_watcher=access_watcher,
                submit_limits=SubmitLimiter(pool),
                max_body_bytes=settings.max_body_bytes,
                bulk_max_body_bytes=settings.bulk_max_body_bytes,
                write_wait_s=settings.write_wait_ms / 1000,
                logs=logs,
                log_writer=LogWriter(js, logs.received, stamp=tracing.stamp),
                bucket=bucket,
                artifact_max_bytes=settings.artifact_max_bytes,
                collector=collector,
                hooks=hooks,
                hooks_watcher=hooks_watcher,
                hook_allow_nets=allow_nets,
                compat_trust=compat_trust,
            )
        finally:
            sampling_lag.cancel()
            checks.clear()
            await _close_all(
                watcher.stop,
                collector.stop,
                hooks_watcher.stop,
                identity_watcher.stop,
                projects_watcher.stop,
                access_watcher.stop,
                leader_watch.stop,
                requester.stop,
                appender.close,
                nc.drain,
                nc.close,  # a no-op after a drain that finished; closes one that timed out
                lambda: _close_pool(pool),
                lambda: asyncio.to_thread(tracing.shutdown),  # exports the spans still buffered
            )

    async def _gateway(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)  # the dashboard calls the API in process (web.api)

    routes = [
        *secure_routes([*native.routes(), *health_routes(lambda: checks)], native.ROUTE_ACCESS, native.WORKER_MAY_CALL),
        Mount("/compat", routes=compat.routes(facades)),
        *compat.seed_routes(facades),
        Mount(
            "/ui",
            app=web.create_app(
                _gateway, session_key_setting=settings.ui_session_key, session_hours=settings.ui_session_hours
            ),
        ),
    ]
    app = Starlette(
        lifespan=lifespan,
        middleware=[
            # Outermost: every request is traced, a façade's on its own port too.
            *([Middleware(TraceRequests, tracing=tracing)] if tracing.is_on else []),  # off: not even mounted
            Middleware(RequestContext),
            Middleware(QueryTextGuard),
            # Innermost: a request on a façade's own port skips the gateway's routes and handlers.
            Middleware(PortDispatch, by_port={port: facades[name] for name, port in compat_ports.items()}),
        ],
        exception_handlers={
            GatewayError: gateway_problem,
            HTTPException: http_problem,
            **OUTAGE_HANDLERS,  # a dependency away: 503 + Retry-After (issue 13)
            Exception: unexpected_problem,
        },
    )
    app.router = IndexedRouter(routes, lifespan=lifespan)  # Starlette's matching, over fewer routes
    return app


def main() -> None:
    """Serve the gateway with uvicorn (uvloop + httptools) on its API port and its façades' ports."""
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    facade_ports = parse_port_map(settings.compat_ports, frozenset(compat.FACADES))
    config = uvicorn.Config(
        "conveyor_gateway.app:create_app",
        factory=True,
        host=settings.bind,
        port=settings.http_port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    sockets = [listen_socket(settings.bind, port) for port in (settings.http_port, *facade_ports.values())]
    for name, port in facade_ports.items():
        _log.info("facade_port", facade=name, port=port)
    if settings.workers > 1:
        Multiprocess(config, sockets=sockets).run()
    else:
        uvicorn.Server(config).run(sockets=sockets)
