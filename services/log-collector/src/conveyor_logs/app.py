"""Composition root of the log-collector: two checkpointed projectors (LOGS and EVENTS), the
progress emitter, the live-tail hints and the retention sweep."""

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.js.object_store import ObjectStore
from starlette.applications import Starlette

from conveyor_events import (
    EVENTS_FILTER,
    EVENTS_STREAM,
    LOGS_FILTER,
    LOGS_STREAM,
    JobProgressed,
    encode_event,
    ensure_artifact_bucket,
    ensure_streams,
    events_stream_config,
    log_appended_subject,
    logs_stream_config,
    new_uuid7,
    progress_subject,
)
from conveyor_runtime import (
    DEPENDENCY_ERRORS,
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
    postgres_check,
    reporting_stalls,
    run_service,
    serve_http,
    start_tracing,
)
from conveyor_runtime.leadership import LeaderElector, lead_when_elected

from . import store
from .handlers import EventsHandler, LogsHandler
from .progress import Throttle
from .schema import MIGRATIONS, SCHEMA
from .settings import Settings

LOGS_CONSUMER: Final = "log-collector"
EVENTS_CONSUMER: Final = "log-collector-events"
_DAY_S: Final = 86_400.0
_log = get_logger("log-collector")


async def emit_progress(nc: NatsClient, throttle: Throttle) -> None:
    """Append the progress values the throttle lets out now (request events on their own subject)."""
    js = nc.jetstream()
    for job_id, percent, task in throttle.due(time.monotonic()):
        event = JobProgressed(
            event_id=new_uuid7(), job_id=job_id, occurred_at=datetime.now(UTC), percent=percent, task=task
        )
        await js.publish(progress_subject(job_id), encode_event(event), headers={"Nats-Msg-Id": event.event_id})


async def _run_logs(
    projector: Projector, nc: NatsClient, handler: LogsHandler, throttle: Throttle, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        await projector.step()
        touched, handler.touched = handler.touched, set()
        for job_id in touched:  # a hint after commit: followers read the new bytes at once
            await nc.publish(log_appended_subject(job_id), b"")
        await emit_progress(nc, throttle)


async def _run_events(projector: Projector, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await projector.step()


async def _sweep(pool: "asyncpg.Pool[Any]", settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        now = datetime.now(UTC)
        try:
            async with pool.acquire() as conn, conn.transaction():
                gone = await store.sweep(
                    conn,
                    now - timedelta(days=settings.log_retention_days),
                    now - timedelta(days=settings.artifact_retention_days),
                )
            _log.info("retention_swept", **gone)
        except DEPENDENCY_ERRORS as exc:  # PostgreSQL away: sweep next time, keep the service up
            _log.warning("retention_sweep_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.retention_sweep_s)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the collector until ``stop`` is set: every copy serves its health endpoints, one holds
    the ``log-collector`` leader key and stores output, the others stand by (issue 19)."""
    tracing = start_tracing("conveyor-log-collector", endpoint=settings.otlp_endpoint)
    nc = await connect_nats(settings.nats_url, name="conveyor-log-collector", timeout_s=settings.connect_timeout_s)
    pool = await create_pool(settings.database_url, timeout_s=settings.connect_timeout_s)
    try:
        js = nc.jetstream()
        replicas = settings.events_replicas
        await ensure_streams(
            js,
            [
                events_stream_config(replicas=replicas, duplicate_window_s=settings.events_duplicate_window_s),
                logs_stream_config(replicas=replicas),
            ],
        )
        bucket = await ensure_artifact_bucket(js, replicas=replicas, ttl_s=settings.artifact_retention_days * _DAY_S)
        await apply_migrations(pool, SCHEMA, MIGRATIONS)
        checks: dict[str, ReadinessCheck] = {"nats": nats_check(nc), "postgres": postgres_check(pool)}
        app = Starlette(routes=health_routes(lambda: checks))
        elector = LeaderElector(
            js, key=LOGS_CONSUMER, ttl_s=settings.leader_ttl_s, poll_s=settings.leader_poll_s, replicas=replicas
        )
        http = asyncio.create_task(serve_http(app, settings.bind, settings.http_port, stop))
        try:
            await lead_when_elected(elector, stop, lambda: _lead(settings, nc, pool, bucket, stop, checks, tracing))
        finally:
            stop.set()
            await http
    finally:
        await nc.drain()
        await pool.close()
        await asyncio.to_thread(tracing.shutdown)  # exports the spans still buffered


async def _lead(
    settings: Settings,
    nc: NatsClient,
    pool: "asyncpg.Pool[Any]",
    bucket: ObjectStore,
    stop: asyncio.Event,
    checks: dict[str, ReadinessCheck],
    tracing: Tracing,
) -> None:
    """One term as the active collector: both projectors from their stored checkpoints, progress
    and the retention sweep. Cancelled the moment the leader key is lost."""
    js = nc.jetstream()
    throttle = Throttle(settings.progress_interval_s)
    logs_handler = LogsHandler(cap=settings.log_max_bytes, throttle=throttle, tracing=tracing)

    async def announce(seq: int) -> None:
        await announce_position(nc, LOGS_CONSUMER, seq)

    logs = Projector(
        name=LOGS_CONSUMER,
        schema=SCHEMA,
        js=js,
        pool=pool,
        stream=LOGS_STREAM,
        filter_subject=LOGS_FILTER,
        handler=logs_handler,
        batch_size=settings.batch_size,
        on_commit=announce,
    )
    events = Projector(
        name=EVENTS_CONSUMER,
        schema=SCHEMA,
        js=js,
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=EVENTS_FILTER,
        handler=EventsHandler(bucket=bucket),
    )
    try:
        await logs.prepare()
        await events.prepare()
        _log.info("service_started", service=LOGS_CONSUMER, checkpoint=logs.position)
        with reporting_stalls(checks, [logs, events], js, settings):
            async with asyncio.TaskGroup() as group:
                group.create_task(_run_logs(logs, nc, logs_handler, throttle, stop))
                group.create_task(_run_events(events, stop))
                group.create_task(_sweep(pool, settings, stop))
    finally:
        await logs.close()
        await events.close()


def main() -> None:
    """Run the log-collector until SIGTERM."""
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    run_service(lambda stop: serve(settings, stop))
