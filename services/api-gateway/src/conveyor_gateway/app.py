"""Composition root of the gateway: ``create_app(settings)`` for uvicorn ``--factory``."""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Final

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

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
    health_routes,
    load_settings,
    nats_check,
    parse_nets,
    postgres_check,
)

from .access import secure_routes
from .artifacts import ARTIFACT_ROUTES
from .bulk import BULK_ROUTES
from .dependencies import DEPENDENCY_ROUTES
from .docs_page import render_docs_page
from .errors import GatewayError
from .event_routes import EVENT_ROUTES
from .explain_reader import ExplainReader
from .explain_routes import EXPLAIN_ROUTES
from .hook_reader import HookReader
from .hook_routes import HOOK_ROUTES
from .identity_reader import IdentityReader
from .identity_routes import IDENTITY_ROUTES
from .job_acl import JOB_ACL_ROUTES
from .job_commands import JOB_COMMAND_ROUTES
from .job_edit import EDIT_ROUTES
from .leader_watch import LeaderWatch
from .leases import LEASE_ROUTES
from .log_reads import LOG_READ_ROUTES
from .log_routes import LOG_WRITE_ROUTES
from .log_store import LogStore
from .log_writer import LogWriter
from .maintenance import MAINTENANCE_ROUTES
from .middleware import RequestContext
from .openapi import build_openapi
from .outage import OUTAGE_HANDLERS
from .problems import PROBLEM_DOCS, gateway_problem, http_problem, unexpected_problem
from .project_reader import ProjectReader
from .project_routes import PROJECT_ROUTES
from .push_hook import PUSH_HOOK_ROUTES
from .query_guard import QueryTextGuard
from .reader import JobReader
from .requester import Requester
from .route_index import IndexedRouter
from .routes import ROUTES, State
from .settings import Settings
from .submit_limits import SubmitLimiter
from .token_auth import TokenAuthenticator
from .worker_access import WORKER_ACCESS_ROUTES
from .worker_auth import WorkerAuthenticator
from .worker_reader import WorkerReader
from .worker_status import open_status_bucket
from .workers import WORKER_ROUTES

SCHEDULER_CONSUMER: Final = "scheduler"
COLLECTOR_CONSUMER: Final = "log-collector"
HOOKS_CONSUMER: Final = "hook-dispatcher"


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the gateway app; its lifespan opens NATS and PostgreSQL."""
    settings = settings or load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    checks: dict[str, ReadinessCheck] = {}
    openapi = msgspec.json.encode(build_openapi(version("conveyor-gateway")))
    allow_nets = parse_nets(settings.hook_allow_nets)

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
        appender = EventAppender(nc)
        await appender.start()
        requester = Requester(nc)
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
                signed_requests=settings.signed_requests,
                max_body_bytes=settings.max_body_bytes,
                bulk_max_body_bytes=settings.bulk_max_body_bytes,
                write_wait_s=settings.write_wait_ms / 1000,
                logs=logs,
                log_writer=LogWriter(js, logs.received),
                bucket=bucket,
                artifact_max_bytes=settings.artifact_max_bytes,
                collector=collector,
                hooks=hooks,
                hooks_watcher=hooks_watcher,
                hook_allow_nets=allow_nets,
            )
        finally:
            checks.clear()
            await watcher.stop()
            await collector.stop()
            await hooks_watcher.stop()
            await identity_watcher.stop()
            await projects_watcher.stop()
            await access_watcher.stop()
            await leader_watch.stop()
            await requester.stop()
            await appender.close()
            await nc.drain()
            await pool.close()

    async def openapi_json(_: Request) -> Response:
        return Response(openapi, media_type="application/json")

    async def docs(_: Request) -> Response:
        return HTMLResponse(render_docs_page("/openapi.json"))

    async def problem_doc(request: Request) -> Response:
        code = request.path_params["code"]
        if code not in PROBLEM_DOCS:
            raise HTTPException(404, "Not Found")
        return Response(f"{code}: {PROBLEM_DOCS[code]}\n", media_type="text/plain")

    routes = secure_routes(
        [
            *BULK_ROUTES,
            *ROUTES,
            *JOB_COMMAND_ROUTES,
            *EDIT_ROUTES,
            *DEPENDENCY_ROUTES,
            *EXPLAIN_ROUTES,
            *WORKER_ROUTES,
            *LEASE_ROUTES,
            *LOG_WRITE_ROUTES,
            *LOG_READ_ROUTES,
            *ARTIFACT_ROUTES,
            *health_routes(lambda: checks),
            Route("/openapi.json", openapi_json),
            Route("/docs", docs),
            Route("/problems/{code}", problem_doc),
            *IDENTITY_ROUTES,
            *PROJECT_ROUTES,
            *WORKER_ACCESS_ROUTES,
            *MAINTENANCE_ROUTES,
            *PUSH_HOOK_ROUTES,
            *JOB_ACL_ROUTES,
            *HOOK_ROUTES,
            *EVENT_ROUTES,
        ]
    )
    app = Starlette(
        lifespan=lifespan,
        middleware=[Middleware(RequestContext), Middleware(QueryTextGuard)],
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
    """Serve the gateway with uvicorn (uvloop + httptools)."""
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
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
