"""The job access-list projection: ``identity.job_access`` folded from ``conveyor.ev.access.>``.

Only jobs given lists have events here, so jobs without lists cost this projection nothing.
"""

from collections.abc import Sequence
from typing import Any, Final

import asyncpg
from nats.aio.client import Client as NatsClient

from conveyor_events import EVENTS_STREAM, JobAccessSet
from conveyor_runtime import (
    DbConnection,
    Projector,
    StreamEvent,
    decode_batch,
    decode_stream_event,
    get_logger,
    quote_schema,
)
from conveyor_runtime.positions import announce_position

from .projection import SCHEMA

__all__ = ["ACCESS_CONSUMER", "ACCESS_FILTER", "access_projector", "apply_access_events"]

ACCESS_CONSUMER: Final = "job_access"
"""The durable consumer (and checkpoint) of the job access-list projection."""

ACCESS_FILTER: Final = "conveyor.ev.access.>"
"""The subjects it folds."""

ACCESS_TABLES: Final = ("job_access",)
"""The tables the job access-list projection owns (emptied by a rebuild)."""

_log = get_logger("job_access")


async def apply_access_events(conn: DbConnection, batch: Sequence[StreamEvent], schema: str = SCHEMA) -> None:
    """Fold a batch of access events (the projector's handler; inside its transaction).

    Args:
        conn: The projector's connection, inside its transaction.
        batch: Events read from the stream.
        schema: Where the table is (another than ``identity`` for a shadow rebuild).
    """
    q = quote_schema(schema)
    for seq, event in decode_batch(batch, decode_stream_event):
        if isinstance(event, JobAccessSet):
            await conn.execute(
                f"INSERT INTO {q}.job_access (job_id, read, write, last_seq) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (job_id) DO UPDATE SET read = $2, write = $3, last_seq = $4"
                f" WHERE {q}.job_access.last_seq < $4",
                event.job_id,
                list(event.read),
                list(event.write),
                seq,
            )


def access_projector(nc: NatsClient, pool: "asyncpg.Pool[Any]") -> Projector:
    """Build the job access-list projector (announces its position for read-your-writes).

    Args:
        nc: NATS connection.
        pool: PostgreSQL pool (the identity migrations must have been applied).

    Returns:
        The projector; call ``prepare()`` then ``run(stop)``.
    """

    async def on_commit(seq: int) -> None:
        await announce_position(nc, ACCESS_CONSUMER, seq)

    return Projector(
        name=ACCESS_CONSUMER,
        schema=SCHEMA,
        js=nc.jetstream(),
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=ACCESS_FILTER,
        handler=apply_access_events,
        batch_size=500,
        on_commit=on_commit,
    )
