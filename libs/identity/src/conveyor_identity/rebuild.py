"""Rebuilding the identity projections (users and tokens, projects, job access lists).

They are rebuilt from the stream, in place or into a shadow schema, as
``conveyor-scheduler rebuild`` does for jobs.

Each projection gets its own projector with its own checkpoint; a rebuild empties the tables it
owns and its checkpoint in one transaction, then replays the stream to its end.
"""

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import asyncpg
from nats.js import JetStreamContext

from conveyor_events import EVENTS_STREAM
from conveyor_runtime import DbConnection, Projector, StreamEvent, apply_migrations, quote_schema

from .job_access import ACCESS_CONSUMER, ACCESS_FILTER, ACCESS_TABLES, apply_access_events
from .projection import CONSUMER, MIGRATIONS, SCHEMA, USER_FILTER, USER_TABLES, apply_user_events
from .projects import PROJECT_FILTER, PROJECT_TABLES, PROJECTS_CONSUMER, apply_project_events

__all__ = ["IDENTITY_PROJECTIONS", "rebuild_identity", "shadow_schema"]

Fold = Callable[[DbConnection, Sequence[StreamEvent], str], Awaitable[None]]

IDENTITY_PROJECTIONS: Final[tuple[tuple[str, str, tuple[str, ...], Fold], ...]] = (
    (CONSUMER, USER_FILTER, USER_TABLES, apply_user_events),
    (PROJECTS_CONSUMER, PROJECT_FILTER, PROJECT_TABLES, apply_project_events),
    (ACCESS_CONSUMER, ACCESS_FILTER, ACCESS_TABLES, apply_access_events),
)
"""Each identity projection: its consumer name, subject filter, tables and fold."""


def shadow_schema(into: str) -> str:
    """Where a shadow rebuild into ``into`` puts the identity tables (beside the jobs in ``into``)."""
    return f"{into}_identity"


def _projector(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]", schema: str, name: str, subjects: str, fold: Fold
) -> Projector:
    async def handler(conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        await fold(conn, batch, schema)

    consumer = name if schema == SCHEMA else f"rebuild_{schema}_{name}"
    return Projector(
        name=consumer, schema=schema, js=js, pool=pool, stream=EVENTS_STREAM, filter_subject=subjects, handler=handler
    )


async def _drain(js: JetStreamContext, projector: Projector, timeout_s: float) -> None:
    """Step until the consumer has nothing left to deliver.

    That is its filter's events up to the end of the stream: the stream's last sequence need not
    be one of them, so ``catch_up`` cannot tell.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        # Asked before stepping: a filter with nothing to deliver ends at once instead of after
        # a fetch timeout (three of them per rebuild, seconds of a rebuild's time; issue 8).
        info = await js.consumer_info(EVENTS_STREAM, projector.name)
        if not info.num_pending and not info.num_ack_pending:
            return
        await projector.step()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{projector.name} did not reach the end of the stream")


async def rebuild_identity(
    js: JetStreamContext, pool: "asyncpg.Pool[Any]", into: str | None = None, *, timeout_s: float = 600.0
) -> None:
    """Empty the identity projections and replay the stream to its end into them.

    In place (``into`` None) the live ``identity`` tables and checkpoints are rebuilt: only while
    no scheduler runs their projectors (the caller holds the leader key). With ``into``, a copy is
    built in ``shadow_schema(into)`` and its temporary consumers are deleted afterwards.
    """
    schema = SCHEMA if into is None else shadow_schema(into)
    await apply_migrations(pool, schema, MIGRATIONS)
    q = quote_schema(schema)
    for name, subjects, tables, fold in IDENTITY_PROJECTIONS:
        projector = _projector(js, pool, schema, name, subjects, fold)

        async def truncate(conn: DbConnection, tables: tuple[str, ...] = tables) -> None:
            await conn.execute(f"TRUNCATE {', '.join(f'{q}.{t}' for t in tables)}")

        try:
            await projector.reset(truncate)
            await projector.prepare()
            await _drain(js, projector, timeout_s)
        finally:
            await projector.close()
            if into is not None:
                await js.delete_consumer(EVENTS_STREAM, projector.name)
