"""The common shape of a consuming service: connect, migrate, project a stream, serve health."""

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient
from starlette.applications import Starlette

from conveyor_events import ensure_streams, events_stream_config, logs_stream_config

from .connections import connect_nats, create_pool
from .db import DbConnection
from .http import ReadinessCheck, health_routes, nats_check, postgres_check, serve_http
from .lifecycle import run_service
from .logging import configure_logging, get_logger
from .migrations import Migration, apply_migrations
from .projector import BatchHandler, Projector, StreamEvent
from .settings import BaseSettings, load_settings
from .stall import stall_checks

__all__ = ["ConsumerSpec", "checkpoint_only", "consumer_main", "run_consumer_service"]

_log = get_logger("service")


class ConsumerSpec:
    """What a consuming service projects, and how its handler is built.

    Args:
        name: Service and durable consumer name.
        schema: The service's PostgreSQL schema.
        migrations: Its migrations (include ``CHECKPOINT_MIGRATION``).
        stream: The stream to consume.
        filter_subject: The subjects of interest.
        make_handler: Builds the batch handler from the open connections.
    """

    def __init__(
        self,
        *,
        name: str,
        schema: str,
        migrations: Sequence[Migration],
        stream: str,
        filter_subject: str,
        make_handler: Callable[[NatsClient, "asyncpg.Pool[Any]"], BatchHandler],
    ) -> None:
        self.name = name
        self.schema = schema
        self.migrations = migrations
        self.stream = stream
        self.filter_subject = filter_subject
        self.make_handler = make_handler


async def run_consumer_service(settings: BaseSettings, spec: ConsumerSpec, stop: asyncio.Event) -> None:
    """Run a checkpointed consumer with health endpoints until ``stop`` is set.

    Args:
        settings: Connection and HTTP settings.
        spec: What to consume and how.
        stop: Set on SIGTERM.
    """
    nc = await connect_nats(settings.nats_url, name=f"conveyor-{spec.name}", timeout_s=settings.connect_timeout_s)
    pool = await create_pool(settings.database_url, timeout_s=settings.connect_timeout_s)
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
        await apply_migrations(pool, spec.schema, spec.migrations)
        projector = Projector(
            name=spec.name,
            schema=spec.schema,
            js=js,
            pool=pool,
            stream=spec.stream,
            filter_subject=spec.filter_subject,
            handler=spec.make_handler(nc, pool),
        )
        await projector.prepare()
        checks: dict[str, ReadinessCheck] = {"nats": nats_check(nc), "postgres": postgres_check(pool)}
        checks |= stall_checks([projector], js, max_lag=settings.projector_max_lag, stall_s=settings.projector_stall_s)
        app = Starlette(routes=health_routes(lambda: checks))
        http = asyncio.create_task(serve_http(app, settings.bind, settings.http_port, stop))
        _log.info("service_started", service=spec.name, checkpoint=projector.position)
        try:
            await projector.run(stop)
        finally:
            stop.set()
            await projector.close()
            await http
    finally:
        await nc.drain()
        await pool.close()


def checkpoint_only(name: str) -> Callable[[NatsClient, "asyncpg.Pool[Any]"], BatchHandler]:
    """A handler factory for a consumer that, for now, only advances its checkpoint.

    Args:
        name: The consumer, for its debug log.

    Returns:
        The ``make_handler`` of a `ConsumerSpec`.
    """
    log = get_logger(name)

    def make(nc: NatsClient, pool: "asyncpg.Pool[Any]") -> BatchHandler:
        async def handle(conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
            log.debug("batch_consumed", events=len(batch), last_seq=batch[-1].seq)

        return handle

    return make


def consumer_main(settings_type: type[BaseSettings], spec: ConsumerSpec) -> None:
    """The ``main()`` of a consuming service: settings, logging, then run until SIGTERM.

    Args:
        settings_type: The service's settings struct.
        spec: What it consumes.
    """
    settings = load_settings(settings_type)
    configure_logging(settings.log_level, settings.log_json)
    run_service(lambda stop: run_consumer_service(settings, spec, stop))
