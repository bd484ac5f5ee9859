"""Checking a job's dependencies: they exist, and none leads back to the job (no cycle)."""

from typing import Any, Final

import asyncpg

from ..errors import FieldError, ParentFinishedError, RejectedError, ValidationFailedError

_EXISTING: Final = "SELECT id::text FROM scheduler.jobs WHERE id = ANY($1::uuid[]) AND NOT deleted"
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


class DependencyCycleError(RejectedError):
    code = "dependency_cycle"
    title = "The dependencies would form a cycle"


async def check_dependencies(pool: "asyncpg.Pool[Any]", job_id: str | None, depends_on: list[str], at: str) -> None:
    """Every dependency must be an existing job, and none may lead back to ``job_id``.

    Args:
        pool: The database pool.
        job_id: The job getting the dependencies (None for a new job: it cannot be in a cycle).
        depends_on: The dependency ids.
        at: The JSON pointer of the list in the request body, for errors.

    Raises:
        ValidationFailedError: Unknown or malformed ids, each with its pointer.
        DependencyCycleError: The job would (transitively) depend on itself.
    """
    if not depends_on:
        return
    async with pool.acquire() as conn:
        try:
            found = {r[0] for r in await conn.fetch(_EXISTING, depends_on)}
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
