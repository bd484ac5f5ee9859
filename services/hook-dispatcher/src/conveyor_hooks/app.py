"""Composition root of the hook-dispatcher: the checkpointed fold of ``EVENTS`` (hooks, jobs,
outbox) and the delivery workers."""

import asyncio
from typing import Any, Final

import asyncpg
from nats.aio.client import Client as NatsClient
from starlette.applications import Starlette

from conveyor_events import (
    EVENTS_FILTER,
    EVENTS_STREAM,
    AppendFence,
    EventAppender,
    ensure_streams,
    events_stream_config,
    logs_stream_config,
)
from conveyor_runtime import (
    Projector,
    ReadinessCheck,
    Tracing,
    announce_position,
    apply_migrations,
    configure_logging,
    connect_nats,
    create_pool,
    get_logger,
    health_routes,
    load_settings,
    nats_check,
    parse_nets,
    postgres_check,
    reporting_stalls,
    run_service,
    serve_http,
    start_tracing,
)
from conveyor_runtime.leadership import LeaderElector, lead_when_elected

from .delivery import Deliverer
from .metrics import MATCHED
from .projection import EventsHandler
from .schema import MIGRATIONS, SCHEMA
from .sender import Sender
from .settings import Settings

CONSUMER: Final = "hook-dispatcher"
_log = get_logger(CONSUMER)


async def _project(projector: Projector, handler: EventsHandler, deliverer: Deliverer, stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = handler.matched
        await projector.step()
        if handler.matched != before:
            MATCHED.inc(handler.matched - before)
            deliverer.wake.set()


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the dispatcher until ``stop`` is set: every copy serves its health endpoints, one holds
    the ``hook-dispatcher`` leader key and delivers, the others stand by (issue 19)."""
    tracing = start_tracing("conveyor-hook-dispatcher", endpoint=settings.otlp_endpoint)
    nc = await connect_nats(settings.nats_url, name="conveyor-hook-dispatcher", timeout_s=settings.connect_timeout_s)
    pool = await create_pool(settings.database_url, timeout_s=settings.connect_timeout_s)
    sender = Sender(
        allow=parse_nets(settings.hook_allow_nets),
        timeout_s=settings.hook_timeout_s,
        response_bytes=settings.hook_response_bytes,
    )
    try:
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
        await apply_migrations(pool, SCHEMA, MIGRATIONS)
        checks: dict[str, ReadinessCheck] = {"nats": nats_check(nc), "postgres": postgres_check(pool)}
        app = Starlette(routes=health_routes(lambda: checks))
        elector = LeaderElector(
            js,
            key=CONSUMER,
            ttl_s=settings.leader_ttl_s,
            poll_s=settings.leader_poll_s,
            replicas=settings.events_replicas,
        )
        http = asyncio.create_task(serve_http(app, settings.bind, settings.http_port, stop))
        try:
            await lead_when_elected(
                elector, stop, lambda: _lead(settings, nc, pool, sender, elector.fence, stop, checks, tracing)
            )
        finally:
            stop.set()
            await http
    finally:
        await sender.close()
        await nc.drain()
        await pool.close()
        await asyncio.to_thread(tracing.shutdown)  # exports the spans still buffered


async def _lead(
    settings: Settings,
    nc: NatsClient,
    pool: "asyncpg.Pool[Any]",
    sender: Sender,
    fence: AppendFence,
    stop: asyncio.Event,
    checks: dict[str, ReadinessCheck],
    tracing: Tracing,
) -> None:
    """One term as the active dispatcher: fold ``EVENTS`` from the stored checkpoint and deliver.
    Cancelled the moment the leader key is lost, before another copy can take it."""
    appender = EventAppender(nc, fence=fence)  # delivery records are written only while leading
    await appender.start()
    handler = EventsHandler(schema=SCHEMA, horizon_s=settings.hook_horizon_s, tracing=tracing)

    async def announce(seq: int) -> None:
        await announce_position(nc, CONSUMER, seq)

    projector = Projector(
        name=CONSUMER,
        schema=SCHEMA,
        js=nc.jetstream(),
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=EVENTS_FILTER,
        handler=handler,
        batch_size=settings.batch_size,
        fetch_timeout_s=0.2,
        on_commit=announce,
    )
    try:
        await projector.prepare()
        deliverer = Deliverer(
            pool=pool, schema=SCHEMA, sender=sender, appender=appender, settings=settings, tracing=tracing
        )
        _log.info("service_started", service=CONSUMER, checkpoint=projector.position)
        with reporting_stalls(checks, [projector], nc.jetstream(), settings):
            async with asyncio.TaskGroup() as group:
                group.create_task(_project(projector, handler, deliverer, stop))
                group.create_task(deliverer.run(stop))
    finally:
        await projector.close()
        await appender.close()


def main() -> None:
    """Run the hook-dispatcher until SIGTERM."""
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    run_service(lambda stop: serve(settings, stop))
