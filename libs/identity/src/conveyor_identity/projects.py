"""The projects projection: projects and per-user roles folded from the project events.

Its own consumer and checkpoint (``projects``) in the ``identity`` schema; the active scheduler
runs it beside the users projection.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import asyncpg
from nats.aio.client import Client as NatsClient

from conveyor_events import (
    EVENTS_STREAM,
    PROJECT_ROLES,
    ProjectAccessRequested,
    ProjectCreated,
    ProjectRolesSet,
    ProjectUpdated,
    ProjectWorkerAccessSet,
)
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

__all__ = ["PROJECTS_CONSUMER", "PROJECT_FILTER", "apply_project_events", "projects_projector"]

PROJECTS_CONSUMER: Final = "projects"
"""The durable consumer (and checkpoint) of the projects projection."""

PROJECT_FILTER: Final = "conveyor.ev.project.>"
"""The subjects the projection folds."""


_UPDATABLE: Final = (
    "priority",
    "visibility",
    "paused",
    "motd",
    "version",
    "clone_url",
    "chain_target",
    "secret",
    "webhook_secret",
    "submit_rate",
    "submit_burst",
    "assign_rate",
    "assign_burst",
)
PROJECT_TABLES: Final = ("projects", "project_roles", "worker_access")
"""The tables the projects projection owns (emptied by a rebuild)."""

_log = get_logger("projects")


async def _created(conn: DbConnection, q: str, seq: int, e: ProjectCreated) -> None:
    await conn.execute(
        f"INSERT INTO {q}.projects (id, name, owner, priority, visibility, paused, motd, version, clone_url,"
        " chain_target, secret, webhook_secret, created_at, updated_at, last_seq,"
        " submit_rate, submit_burst, assign_rate, assign_burst, created_seq)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18, $14)"
        " ON CONFLICT (id) DO NOTHING",
        *(e.project_id, e.name, e.owner, e.priority, e.visibility, e.paused, e.motd, e.version),
        *(e.clone_url, e.chain_target, e.secret, e.webhook_secret, e.occurred_at, seq),
        *(e.submit_rate, e.submit_burst, e.assign_rate, e.assign_burst),
    )
    await _roles(conn, q, e.project_id, e.owner, PROJECT_ROLES)


async def _updated(conn: DbConnection, q: str, seq: int, e: ProjectUpdated) -> None:
    values = [getattr(e, name) for name in _UPDATABLE]
    sets = ", ".join(f"{name} = COALESCE(${i + 2}, {name})" for i, name in enumerate(_UPDATABLE))
    n = len(_UPDATABLE) + 2
    await conn.execute(
        f"UPDATE {q}.projects SET {sets}, updated_at = ${n}, last_seq = ${n + 1} WHERE id = $1 AND last_seq < ${n + 1}",
        e.project_id,
        *values,
        e.occurred_at,
        seq,
    )


async def _roles(conn: DbConnection, q: str, project_id: str, user_id: str, roles: Sequence[str]) -> None:
    if not roles:
        await conn.execute(f"DELETE FROM {q}.project_roles WHERE project_id = $1 AND user_id = $2", project_id, user_id)
        return
    await conn.execute(
        f"INSERT INTO {q}.project_roles (project_id, user_id, roles) VALUES ($1, $2, $3)"
        " ON CONFLICT (project_id, user_id) DO UPDATE SET roles = EXCLUDED.roles",
        project_id,
        user_id,
        list(roles),
    )


async def _touch(conn: DbConnection, q: str, project_id: str, seq: int) -> None:
    """The project's subject moved to ``seq``.

    ``last_seq`` is what a change expects next, so every event on the subject (access requests
    and decisions too) advances it.
    """
    await conn.execute(f"UPDATE {q}.projects SET last_seq = $2 WHERE id = $1 AND last_seq < $2", project_id, seq)


async def apply_project_events(conn: DbConnection, batch: Sequence[StreamEvent], schema: str = SCHEMA) -> None:
    """Fold a batch of project events (the projector's handler; inside its transaction).

    Args:
        conn: The projector's connection, inside its transaction.
        batch: Events read from the stream.
        schema: Where the tables are (another than ``identity`` for a shadow rebuild).
    """
    q = quote_schema(schema)
    for seq, event in decode_batch(batch, decode_stream_event):
        match event:
            case ProjectCreated():
                await _created(conn, q, seq, event)
            case ProjectUpdated():
                await _updated(conn, q, seq, event)
            case ProjectRolesSet():
                await _roles(conn, q, event.project_id, event.user_id, event.roles)
                await _touch(conn, q, event.project_id, seq)
            case ProjectAccessRequested():
                await _touch(conn, q, event.project_id, seq)
                await conn.execute(
                    f"INSERT INTO {q}.worker_access (project_id, worker_id, status, assign, submit,"
                    " requested_assign, requested_submit, updated_at)"
                    " VALUES ($1, $2, 'requested', false, false, $3, $4, $5)"
                    " ON CONFLICT (project_id, worker_id) DO UPDATE SET requested_assign = $3,"
                    " requested_submit = $4, updated_at = $5,"
                    " status = CASE WHEN worker_access.status = 'granted' THEN 'granted' ELSE 'requested' END",
                    event.project_id,
                    event.worker_id,
                    event.assign,
                    event.submit,
                    event.occurred_at,
                )
            case ProjectWorkerAccessSet():
                await _touch(conn, q, event.project_id, seq)
                await conn.execute(
                    f"INSERT INTO {q}.worker_access (project_id, worker_id, status, assign, submit, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, worker_id) DO UPDATE"
                    " SET status = $3, assign = $4, submit = $5, updated_at = $6",
                    event.project_id,
                    event.worker_id,
                    event.status,
                    event.assign and event.status == "granted",
                    event.submit and event.status == "granted",
                    event.occurred_at,
                )
            case _:
                pass


def projects_projector(
    nc: NatsClient, pool: "asyncpg.Pool[Any]", *, after_commit: Callable[[], Awaitable[None]] | None = None
) -> Projector:
    """Build the projects projector; it announces each committed position for read-your-writes.

    Args:
        nc: NATS connection.
        pool: PostgreSQL pool (the identity migrations must have been applied).
        after_commit: Runs after each commit and before the announcement, so that whoever
            waits for a project change (a gateway's PATCH) finds its effect applied (the
            scheduler reloads its project rules here).

    Returns:
        The projector; call ``prepare()`` then ``run(stop)``.
    """

    async def on_commit(seq: int) -> None:
        if after_commit is not None:
            await after_commit()
        await announce_position(nc, PROJECTS_CONSUMER, seq)

    return Projector(
        name=PROJECTS_CONSUMER,
        schema=SCHEMA,
        js=nc.jetstream(),
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=PROJECT_FILTER,
        handler=apply_project_events,
        batch_size=200,
        on_commit=on_commit,
    )
