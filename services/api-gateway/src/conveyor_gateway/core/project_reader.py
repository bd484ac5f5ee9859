"""Reads of the projects projection (``identity.projects``, ``identity.project_roles``)."""

from typing import Any, Final

import asyncpg
import msgspec

from .project_access import ProjectDoc

_COLUMNS: Final = (
    "id::text AS id, name, owner, priority, visibility, paused, motd, version, clone_url, chain_target,"
    " secret, webhook_secret, submit_rate, submit_burst, assign_rate, assign_burst, created_at, updated_at, last_seq"
)


def project_columns(alias: str) -> str:
    """The columns of a ``ProjectDoc``, of the projects table named ``alias`` in a query."""
    return ", ".join(
        f"{alias}.id::text AS id" if c == "id::text AS id" else f"{alias}.{c}" for c in _COLUMNS.split(", ")
    )


class JobGrants(msgspec.Struct, frozen=True, kw_only=True):
    """Who a job belongs to and who else its lists name."""

    owner: str
    project: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


def _doc(row: Any) -> ProjectDoc:
    return msgspec.convert(dict(row), ProjectDoc)


class ProjectReader:
    """Project and role lookups."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    @property
    def pool(self) -> "asyncpg.Pool[Any]":
        return self._pool

    async def checkpoint(self, consumer: str) -> int:
        """The stored position of one of the identity schema's projectors."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval("SELECT stream_seq FROM identity.checkpoints WHERE consumer = $1", consumer)
        return int(value or 0)

    async def by_name(self, name: str) -> ProjectDoc | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM identity.projects WHERE name = $1", name)
        return None if row is None else _doc(row)

    async def with_roles(self, name: str, user_id: str) -> tuple[ProjectDoc | None, tuple[str, ...]]:
        """The project called ``name`` and the roles granted to ``user_id`` on it."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS}, COALESCE((SELECT roles FROM identity.project_roles r"
                " WHERE r.project_id = p.id AND r.user_id = $2), ARRAY[]::text[]) AS granted"
                " FROM identity.projects p WHERE name = $1",
                name,
                user_id,
            )
        if row is None:
            return None, ()
        fields = dict(row)
        granted = tuple(fields.pop("granted"))
        return msgspec.convert(fields, ProjectDoc), granted

    async def listed(
        self, user_id: str, *, is_admin: bool, limit: int = 500
    ) -> list[tuple[ProjectDoc, tuple[str, ...]]]:
        """Projects ``user_id`` may see (hidden ones only with ``read``), by name, with their granted roles."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS}, COALESCE(r.roles, ARRAY[]::text[]) AS granted FROM identity.projects p"
                " LEFT JOIN identity.project_roles r ON r.project_id = p.id AND r.user_id = $1"
                " WHERE $2 OR p.visibility <> 'hidden' OR p.owner = $1 OR 'read' = ANY(r.roles)"
                " ORDER BY p.name LIMIT $3",
                user_id,
                is_admin,
                limit,
            )
        result = []
        for row in rows:
            fields = dict(row)
            granted = tuple(fields.pop("granted"))
            result.append((msgspec.convert(fields, ProjectDoc), granted))
        return result

    async def roles(self, project_id: str) -> list[tuple[str, list[str]]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT user_id, roles FROM identity.project_roles WHERE project_id = $1 ORDER BY user_id", project_id
            )
        return [(r["user_id"], list(r["roles"])) for r in rows]

    async def job_owner(self, job_id: str) -> "JobGrants | None":
        """Owner, project and access lists of a live job; None if there is no such job (yet)."""
        async with self._pool.acquire() as conn:
            try:
                row = await conn.fetchrow(
                    "SELECT j.owner, j.project, COALESCE(a.read, ARRAY[]::text[]) AS read,"
                    " COALESCE(a.write, ARRAY[]::text[]) AS write FROM scheduler.jobs j"
                    " LEFT JOIN identity.job_access a ON a.job_id = j.id WHERE j.id = $1::uuid AND NOT j.deleted",
                    job_id,
                )
            except asyncpg.UndefinedTableError:
                return None
        if row is None:
            return None
        return JobGrants(owner=row["owner"], project=row["project"], read=tuple(row["read"]), write=tuple(row["write"]))
