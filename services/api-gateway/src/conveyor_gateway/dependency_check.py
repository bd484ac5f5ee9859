"""Checking a job's dependencies: they exist, and none leads back to the job (no cycle)."""

from typing import Any, Final

import asyncpg

from .bodies import FieldError
from .errors import ParentFinishedError, RejectedError, ValidationFailedError
from .reader import READABLE
from .token_auth import Principal

_EXISTING: Final = "SELECT id::text FROM scheduler.jobs WHERE id = ANY($1::uuid[]) AND NOT deleted"
_EXISTING_READABLE: Final = f"{_EXISTING} AND {READABLE.replace('{n}', '2')}"
_REACHES: Final = """
WITH RECURSIVE reach(id) AS (
    SELECT unnest($1::uuid[])
    UNION
    SELECT d.depends_on FROM scheduler.job_dependencies d JOIN reach r ON d.job_id = r.id
)
SELECT EXISTS (SELECT 1 FROM reach WHERE id = $2::uuid)
"""


_PARENT: Final = "SELECT state FROM scheduler.jobs WHERE id = $1::uuid AND NOT deleted"
_FINISHED: Final = frozenset({"succeeded", "failed", "timed_out", "cancelled"})


def principal_viewer(principal: Principal) -> str | None:
    """Whose readable jobs a caller's dependencies may name: None (all) for an admin."""
    return None if principal.has_scope("admin") else principal.user_id


class DependencyCycleError(RejectedError):
    code = "dependency_cycle"
    title = "The dependencies would form a cycle"


async def check_dependencies(
    pool: "asyncpg.Pool[Any]", job_id: str | None, depends_on: list[str], at: str, *, viewer: str | None
) -> None:
    """Every dependency must be an existing job the caller may read, and none may lead back to ``job_id``.

    A job the caller may not read answers exactly as a missing one (issue 13): otherwise the
    answer, and ``explain`` afterwards, would tell them it exists and what state it is in.

    Args:
        pool: The database pool.
        job_id: The job getting the dependencies (None for a new job: it cannot be in a cycle).
        depends_on: The dependency ids.
        at: The JSON pointer of the list in the request body, for errors.
        viewer: Whose readable jobs count (``principal_viewer``); None for an admin (every job).

    Raises:
        ValidationFailedError: Unknown or malformed ids, each with its pointer.
        DependencyCycleError: The job would (transitively) depend on itself.
    """
    if not depends_on:
        return
    async with pool.acquire() as conn:
        try:
            if viewer is None:
                found = {r[0] for r in await conn.fetch(_EXISTING, depends_on)}
            else:
                found = {r[0] for r in await conn.fetch(_EXISTING_READABLE, depends_on, viewer)}
        except asyncpg.UndefinedTableError:  # the scheduler has not created its tables: no job exists
            found = set()
        missing = [
            FieldError(pointer=f"{at}/{i}", detail=f"no job {dep}")
            for i, dep in enumerate(depends_on)
            if dep not in found
        ]
        if missing:
            raise ValidationFailedError("unknown dependencies", errors=missing)
        if job_id is not None and (job_id in depends_on or await conn.fetchval(_REACHES, depends_on, job_id)):
            raise DependencyCycleError(f"job {job_id} would depend on itself through {at}")


async def check_parent(pool: "asyncpg.Pool[Any]", parent: str | None, at: str) -> None:
    """A child's parent must be an existing job that has not ended.

    Raises:
        ValidationFailedError: No such job (pointer ``at``).
        ParentFinishedError: The parent ended: a finished tree does not grow.
    """
    if parent is None:
        return
    async with pool.acquire() as conn:
        try:
            state = await conn.fetchval(_PARENT, parent)
        except asyncpg.UndefinedTableError:
            state = None
    if state is None:
        raise ValidationFailedError("unknown parent", errors=[FieldError(pointer=at, detail=f"no job {parent}")])
    if state in _FINISHED:
        raise ParentFinishedError(f"parent {parent} is already {state}; a finished tree takes no new children")
