"""Reads of the hook dispatcher's tables (schema ``hooks``; only the dispatcher writes them)."""

from datetime import datetime
from typing import Any, Final

import asyncpg
import msgspec

from .hook_bodies import AttemptView, DeliveryView

_HOOK_COLUMNS: Final = (
    "id::text, owner, project, url, event_types, description, secret, is_active, deleted, disabled_reason,"
    " disabled_at, failures, created_at, updated_at, last_seq"
)


class HookDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``hooks.hooks`` (the secret included: never send it as is)."""

    id: str
    owner: str
    project: str
    url: str
    event_types: list[str]
    description: str
    secret: str
    is_active: bool
    deleted: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failures: int
    created_at: datetime
    updated_at: datetime
    last_seq: int


def _doc(row: Any) -> HookDoc:
    return HookDoc(**dict(row.items()))


class HookReader:
    """Hook and delivery lookups; empty answers before the dispatcher created its tables."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        try:
            return list(await self._pool.fetch(sql, *args))
        except asyncpg.UndefinedTableError:
            return []

    async def get(self, hook_id: str) -> HookDoc | None:
        rows = await self._fetch(f"SELECT {_HOOK_COLUMNS} FROM hooks.hooks WHERE id = $1 AND NOT deleted", hook_id)
        return _doc(rows[0]) if rows else None

    async def listed(self, user_id: str | None) -> list[HookDoc]:
        """The hooks ``user_id`` owns or whose project they may edit (every hook for ``None``: admins)."""
        if user_id is None:
            sql = f"SELECT {_HOOK_COLUMNS} FROM hooks.hooks WHERE NOT deleted ORDER BY created_at DESC"
            return [_doc(r) for r in await self._fetch(sql)]
        sql = (
            f"SELECT {_HOOK_COLUMNS} FROM hooks.hooks h WHERE NOT deleted AND (h.owner = $1 OR (h.project <> ''"
            " AND h.project IN (SELECT p.name FROM identity.projects p WHERE p.owner = $1 OR EXISTS ("
            " SELECT 1 FROM identity.project_roles r WHERE r.project_id = p.id AND r.user_id = $1"
            " AND 'edit' = ANY(r.roles))))) ORDER BY created_at DESC"
        )
        return [_doc(r) for r in await self._fetch(sql, user_id)]

    async def deliveries(
        self, hook_id: str, *, limit: int, before_seq: int | None
    ) -> tuple[list[DeliveryView], int | None]:
        """A hook's deliveries, newest event first, each with its attempts; and the next page's key."""
        rows = await self._fetch(
            "SELECT id::text, event_type, job_id::text, stream_seq, status, created_at,"
            " CASE WHEN status = 'pending' THEN next_attempt_at END FROM hooks.deliveries"
            " WHERE hook_id = $1 AND ($2::bigint IS NULL OR stream_seq < $2) ORDER BY stream_seq DESC LIMIT $3",
            hook_id,
            before_seq,
            limit + 1,
        )
        page = rows[:limit]
        attempts: dict[str, list[AttemptView]] = {r[0]: [] for r in page}
        if page:
            for a in await self._fetch(
                "SELECT delivery_id::text, attempt, attempted_at, status, latency_ms, error, response"
                " FROM hooks.attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY attempt",
                list(attempts),
            ):
                attempts[a[0]].append(
                    AttemptView(
                        attempt=a[1], attempted_at=a[2], status=a[3], latency_ms=a[4], error=a[5], response=a[6]
                    )
                )
        items = [
            DeliveryView(
                id=r[0],
                event_type=r[1],
                job_id=r[2],
                stream_seq=r[3],
                status=r[4],
                created_at=r[5],
                next_attempt_at=r[6],
                attempts=attempts[r[0]],
            )
            for r in page
        ]
        return items, (page[-1][3] if len(rows) > limit else None)

    async def delivery_hook(self, delivery_id: str) -> str | None:
        """The hook a delivery belongs to (``None``: no such delivery, or a job trigger's)."""
        rows = await self._fetch("SELECT hook_id::text FROM hooks.deliveries WHERE id = $1", delivery_id)
        return rows[0][0] if rows else None

    async def checkpoint(self, consumer: str) -> int:
        rows = await self._fetch("SELECT stream_seq FROM hooks.checkpoints WHERE consumer = $1", consumer)
        return int(rows[0][0]) if rows else 0
