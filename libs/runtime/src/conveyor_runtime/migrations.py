"""Schema migrations: each service owns one PostgreSQL schema and migrates it at start."""

import re
import zlib
from collections.abc import Sequence
from typing import Any

import asyncpg

__all__ = ["Migration", "apply_migrations", "quote_schema"]

Migration = tuple[int, str]
"""A migration: its version number and the SQL to run. ``{schema}`` is replaced by the schema."""

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote_schema(schema: str) -> str:
    """Validate a schema name for interpolation into SQL.

    Args:
        schema: Lowercase identifier.

    Returns:
        The name, double-quoted.

    Raises:
        ValueError: For anything but a plain lowercase identifier.
    """
    if not _IDENT.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return f'"{schema}"'


async def apply_migrations(pool: "asyncpg.Pool[Any]", schema: str, migrations: Sequence[Migration]) -> list[int]:
    """Create ``schema`` if needed and run the migrations it has not seen, in order.

    Concurrent starters are serialised by a transaction-level advisory lock, so two replicas of a
    service starting together do not race.

    Args:
        pool: The connection pool.
        schema: The service's schema.
        migrations: ``(version, sql)`` pairs with increasing versions.

    Returns:
        The versions applied by this call.
    """
    quoted = quote_schema(schema)
    applied: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(schema.encode()))
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}.migrations "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {quoted}.migrations")}
        for version, sql in sorted(migrations):
            if version in done:
                continue
            await conn.execute(sql.replace("{schema}", quoted))
            await conn.execute(f"INSERT INTO {quoted}.migrations (version) VALUES ($1)", version)
            applied.append(version)
    return applied
