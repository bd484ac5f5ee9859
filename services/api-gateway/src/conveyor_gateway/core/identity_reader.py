"""Reads of the identity projection (users and API tokens); the gateway never writes it."""

from datetime import datetime
from typing import Any, Final

import asyncpg
import msgspec

_USERS: Final = "identity.users"
_TOKENS: Final = "identity.tokens"


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored token and its user, as authentication needs them (no secret: only its hash matched)."""

    token_id: str
    user_id: str
    user_name: str
    is_admin: bool
    scopes: tuple[str, ...]
    expires_at: datetime | None
    is_revoked: bool


class TokenView(msgspec.Struct, frozen=True, kw_only=True):
    """A token as listed: never the token itself, nor its hash."""

    id: str
    user_id: str
    name: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    is_admin: bool
    created_at: datetime


def _token_view(row: Any) -> TokenView:
    return TokenView(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        scopes=list(row["scopes"]),
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


class IdentityReader:
    """Lookups of users and tokens in the ``identity`` schema."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def checkpoint(self) -> int:
        async with self._pool.acquire() as conn:
            value = await conn.fetchval("SELECT stream_seq FROM identity.checkpoints WHERE consumer = 'identity'")
        return int(value or 0)

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT t.id::text AS token_id, t.user_id::text AS user_id, u.name, u.is_admin, t.scopes,"
                f" t.expires_at, t.revoked_at IS NOT NULL AS is_revoked"
                f" FROM {_TOKENS} t JOIN {_USERS} u ON u.id = t.user_id WHERE t.token_hash = $1",
                token_hash,
            )
        if row is None:
            return None
        return TokenRecord(
            token_id=row["token_id"],
            user_id=row["user_id"],
            user_name=row["name"],
            is_admin=row["is_admin"],
            scopes=tuple(row["scopes"]),
            expires_at=row["expires_at"],
            is_revoked=row["is_revoked"],
        )

    async def token_for_signing(self, token_id: str) -> tuple[TokenRecord, str] | None:
        """A token's record and its stored hash (the HMAC key of signed requests)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT t.id::text AS token_id, t.user_id::text AS user_id, u.name, u.is_admin, t.scopes,"
                f" t.expires_at, t.revoked_at IS NOT NULL AS is_revoked, t.token_hash"
                f" FROM {_TOKENS} t JOIN {_USERS} u ON u.id = t.user_id WHERE t.id = $1",
                token_id,
            )
        if row is None:
            return None
        record = TokenRecord(
            token_id=row["token_id"],
            user_id=row["user_id"],
            user_name=row["name"],
            is_admin=row["is_admin"],
            scopes=tuple(row["scopes"]),
            expires_at=row["expires_at"],
            is_revoked=row["is_revoked"],
        )
        return record, row["token_hash"]

    async def tokens_of(self, user_id: str) -> list[TokenView]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT id::text AS id, user_id::text AS user_id, name, scopes, issued_at, expires_at, revoked_at"
                f" FROM {_TOKENS} WHERE user_id = $1 ORDER BY issued_at DESC, id DESC LIMIT 1000",
                user_id,
            )
        return [_token_view(r) for r in rows]

    async def token(self, token_id: str) -> TokenView | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT id::text AS id, user_id::text AS user_id, name, scopes, issued_at, expires_at, revoked_at"
                f" FROM {_TOKENS} WHERE id = $1",
                token_id,
            )
        return None if row is None else _token_view(row)

    async def user(self, user_id: str) -> UserView | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT id::text AS id, name, is_admin, created_at FROM {_USERS} WHERE id = $1", user_id
            )
        return None if row is None else UserView(**dict(row))

    async def users(self, limit: int = 1000) -> list[UserView]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT id::text AS id, name, is_admin, created_at FROM {_USERS} ORDER BY created_at, id LIMIT $1",
                limit,
            )
        return [UserView(**dict(r)) for r in rows]

    async def user_named(self, name: str) -> UserView | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT id::text AS id, name, is_admin, created_at FROM {_USERS} WHERE name = $1", name
            )
        return None if row is None else UserView(**dict(row))

    async def password_of(self, name: str) -> tuple[str, str] | None:
        """``(user id, argon2 hash)`` of the user called ``name`` ('' hash: no password set)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(f"SELECT id::text, password_hash FROM {_USERS} WHERE name = $1", name)
        return None if row is None else (row[0], row[1])
