"""The connection type handlers receive: a plain connection or one borrowed from a pool."""

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["DbConnection", "DbPool"]

DbConnection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
DbPool: TypeAlias = "asyncpg.Pool[Any]"
