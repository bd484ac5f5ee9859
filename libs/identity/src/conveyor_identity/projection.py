"""The identity projection: users and API tokens folded from the user events into PostgreSQL.

It lives in its own schema (``identity``) with its own checkpoint, and is applied by its own
checkpointed consumer (`identity_projector`), which the active scheduler runs beside its own.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import asyncpg
from nats.aio.client import Client as NatsClient

from conveyor_events import (
    EVENTS_STREAM,
    UserAdminSet,
    UserCreated,
    UserEvent,
    UserPasswordSet,
    UserTokenIssued,
    UserTokenRevoked,
    decode_event,
)
from conveyor_runtime import (
    CHECKPOINT_MIGRATION,
    DbConnection,
    Migration,
    Projector,
    StreamEvent,
    decode_batch,
    get_logger,
    quarantine_migration,
    quote_schema,
)
from conveyor_runtime.positions import announce_position

__all__ = ["CONSUMER", "MIGRATIONS", "SCHEMA", "USER_FILTER", "apply_user_events", "identity_projector"]

SCHEMA: Final = "identity"
"""The PostgreSQL schema of the identity projection."""

CONSUMER: Final = "identity"
"""The durable consumer (and checkpoint) name; gateways follow its announced position."""

USER_FILTER: Final = "conveyor.ev.user.>"
"""The subjects the projection folds."""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    CHECKPOINT_MIGRATION,
    (
        2,
        "CREATE TABLE {schema}.users ("
        " id uuid PRIMARY KEY, name text NOT NULL, is_admin boolean NOT NULL DEFAULT false,"
        " created_by text NOT NULL DEFAULT '', created_at timestamptz NOT NULL);"
        "CREATE TABLE {schema}.tokens ("
        " id uuid PRIMARY KEY, user_id uuid NOT NULL, token_hash text NOT NULL UNIQUE,"
        " name text NOT NULL DEFAULT '', scopes text[] NOT NULL, expires_at timestamptz,"
        " issued_at timestamptz NOT NULL, revoked_at timestamptz);"
        "CREATE INDEX tokens_by_user ON {schema}.tokens (user_id, issued_at)",
    ),
    (
        3,
        "CREATE TABLE {schema}.projects ("
        " id uuid PRIMARY KEY, name text NOT NULL UNIQUE, owner text NOT NULL, priority integer NOT NULL,"
        " visibility text NOT NULL, paused boolean NOT NULL, motd text NOT NULL, version text NOT NULL,"
        " clone_url text NOT NULL, chain_target text NOT NULL, secret text NOT NULL, webhook_secret text NOT NULL,"
        " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, last_seq bigint NOT NULL);"
        "CREATE TABLE {schema}.project_roles ("
        " project_id uuid NOT NULL, user_id text NOT NULL, roles text[] NOT NULL,"
        " PRIMARY KEY (project_id, user_id));"
        "CREATE INDEX project_roles_by_user ON {schema}.project_roles (user_id)",
    ),
    (
        4,
        "ALTER TABLE {schema}.projects ADD COLUMN submit_rate double precision NOT NULL DEFAULT 0,"
        " ADD COLUMN submit_burst integer NOT NULL DEFAULT 0,"
        " ADD COLUMN assign_rate double precision NOT NULL DEFAULT 0,"
        " ADD COLUMN assign_burst integer NOT NULL DEFAULT 0",
    ),
    (
        5,
        "CREATE TABLE {schema}.worker_access ("
        " project_id uuid NOT NULL, worker_id uuid NOT NULL, status text NOT NULL,"
        " assign boolean NOT NULL, submit boolean NOT NULL,"
        " requested_assign boolean NOT NULL DEFAULT false, requested_submit boolean NOT NULL DEFAULT false,"
        " updated_at timestamptz NOT NULL, PRIMARY KEY (project_id, worker_id));"
        "CREATE INDEX worker_access_by_worker ON {schema}.worker_access (worker_id)",
    ),
    (
        6,
        "CREATE TABLE {schema}.job_access (job_id uuid PRIMARY KEY, read text[] NOT NULL, write text[] NOT NULL,"
        " last_seq bigint NOT NULL);"
        "CREATE INDEX job_access_read ON {schema}.job_access USING gin (read)",
    ),
    quarantine_migration(7),  # events the projectors could not apply as they were
    (
        8,
        # The stream sequence of a project's and a user's first event: the integer ids the
        # façades show (task_tracker's project and manager ids), stable across restarts and a
        # rebuild. Rows folded before this column existed get theirs from a rebuild.
        "ALTER TABLE {schema}.projects ADD COLUMN created_seq bigint;"
        "CREATE UNIQUE INDEX projects_created_seq ON {schema}.projects (created_seq);"
        "ALTER TABLE {schema}.users ADD COLUMN created_seq bigint;"
        "CREATE UNIQUE INDEX users_created_seq ON {schema}.users (created_seq)",
    ),
    # A user's password (task_tracker's managers), as its argon2id hash; '' for none.
    (9, "ALTER TABLE {schema}.users ADD COLUMN IF NOT EXISTS password_hash text NOT NULL DEFAULT ''"),
)
"""The identity schema's migrations (gateways apply them too, so reads never meet a missing table)."""

USER_TABLES: Final = ("users", "tokens")
"""The tables the users projection owns (emptied by a rebuild)."""

_log = get_logger("identity")


def _decode(batch: Sequence[StreamEvent]) -> list[tuple[int, UserEvent]]:
    decoded: list[tuple[int, UserEvent]] = decode_batch(batch, _user_event)
    return decoded


def _user_event(item: StreamEvent) -> UserEvent | None:
    event = decode_event(item.subject, item.data)
    user_events = UserCreated | UserTokenIssued | UserTokenRevoked | UserPasswordSet | UserAdminSet
    return event if isinstance(event, user_events) else None


async def apply_user_events(conn: DbConnection, batch: Sequence[StreamEvent], schema: str = SCHEMA) -> None:
    """Fold a batch of user events (the projector's handler; runs inside its transaction).

    Every statement is idempotent, so a rebuild or a redelivered batch leaves the same rows.

    Args:
        conn: The projector's connection, inside its transaction.
        batch: Events read from the stream.
        schema: Where the tables are (another than ``identity`` for a shadow rebuild).
    """
    q = quote_schema(schema)
    for seq, event in _decode(batch):
        match event:
            case UserCreated():
                await conn.execute(
                    f"INSERT INTO {q}.users (id, name, is_admin, created_by, created_at, created_seq)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                    event.user_id,
                    event.name,
                    event.is_admin,
                    event.created_by,
                    event.occurred_at,
                    seq,
                )
            case UserTokenIssued():
                await conn.execute(
                    f"INSERT INTO {q}.tokens (id, user_id, token_hash, name, scopes, expires_at, issued_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    event.token_id,
                    event.user_id,
                    event.token_hash,
                    event.name,
                    list(event.scopes),
                    event.expires_at,
                    event.occurred_at,
                )
            case UserTokenRevoked():
                await conn.execute(
                    f"UPDATE {q}.tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                    event.token_id,
                    event.user_id,
                    event.occurred_at,
                )
            case UserPasswordSet():
                await conn.execute(
                    f"UPDATE {q}.users SET password_hash = $2 WHERE id = $1", event.user_id, event.password_hash
                )
            case UserAdminSet():
                await conn.execute(f"UPDATE {q}.users SET is_admin = $2 WHERE id = $1", event.user_id, event.is_admin)


def identity_projector(nc: NatsClient, pool: "asyncpg.Pool[Any]") -> Projector:
    """Build the identity projector; it announces each committed position for read-your-writes.

    Only one may run at a time (the checkpoint fences a second): the active scheduler runs it.

    Args:
        nc: NATS connection.
        pool: PostgreSQL pool (the migrations must have been applied).

    Returns:
        The projector; call ``prepare()`` then ``run(stop)``.
    """
    on_commit: Callable[[int], Awaitable[None]] = lambda seq: announce_position(nc, CONSUMER, seq)  # noqa: E731 - one line
    return Projector(
        name=CONSUMER,
        schema=SCHEMA,
        js=nc.jetstream(),
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=USER_FILTER,
        handler=apply_user_events,
        batch_size=200,
        on_commit=on_commit,
    )
