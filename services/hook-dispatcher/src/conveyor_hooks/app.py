"""Composition root of the hook-dispatcher. Delivers signed webhooks (issue #6 adds hooks, matching and delivery)."""

from collections.abc import Sequence
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM
from conveyor_runtime import (
    CHECKPOINT_MIGRATION,
    BatchHandler,
    ConsumerSpec,
    StreamEvent,
    configure_logging,
    get_logger,
    load_settings,
    run_consumer_service,
    run_service,
)
from conveyor_runtime.db import DbConnection

from .settings import Settings

_log = get_logger("hook-dispatcher")


def _make_handler(nc: NatsClient, pool: "asyncpg.Pool[Any]") -> BatchHandler:
    async def handle(conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        # Only the checkpoint advances for now; the projector commits it with the batch.
        _log.debug("batch_consumed", events=len(batch), last_seq=batch[-1].seq)

    return handle


SPEC = ConsumerSpec(
    name="hook-dispatcher",
    schema="hooks",
    migrations=[CHECKPOINT_MIGRATION],
    stream=EVENTS_STREAM,
    filter_subject=EVENTS_FILTER,
    make_handler=_make_handler,
)


def main() -> None:
    """Run the hook-dispatcher until SIGTERM."""
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    run_service(lambda stop: run_consumer_service(settings, SPEC, stop))
