"""Checking a job's dependencies: they exist, and none leads back to the job (no cycle)."""

from typing import Any, Final

import asyncpg
import msgspec

from conveyor_events.states import TERMINAL

from .bodies import FieldError
from .errors import ParentFinishedError, RejectedError, ValidationFailedError
from .reader import READABLE
from .token_auth import Principal

_EXISTING: Final = "SELECT id::text FROM scheduler.jobs WHERE id = ANY($1::uuid[]) AND NOT deleted"
_EXISTING_READABLE: Final = f"{_EXISTING} AND {READABLE.replace('{n}', '2')}"
# What a worker may name, as for a parent (worker_submit): its own submissions, the job it holds a
# live lease on, and jobs of projects it holds granted submit access to.
_EXISTING_FOR_WORKER: Final = (
    f"{_EXISTING} AND (owner = $2 OR (doc->>'worker_id' = $3 AND state IN ('assigned', 'running'))"
    " OR project IN (SELECT p.name FROM identity.projects p JOIN identity.worker_access w ON w.project_id = p.id"
    " WHERE w.worker_id = $3::uuid AND w.status = 'granted' AND w.submit))"
)
_REACHES: Final = """
WITH RECURSIVE reach(id) AS (
    SELECT unnest($1::uuid[])
    UNION
    SELECT d.depends_on FROM scheduler.job_dependencies d JOIN reach r ON d.job_id = r.id
)
SELECT EXISTS (SELECT 1 FROM reach WHERE id = $2::uuid)
"""


_PARENT: Final = "SELECT state FROM scheduler.jobs WHERE id = $1::uuid AND NOT deleted"


class Viewer(msgspec.Struct, frozen=True):
    """Who names jobs: a user (``worker_id`` None) or a worker (``user_id`` is ``worker:<id>``)."""

    user_id: str
    worker_id: str | None = None


def principal_viewer(principal: Principal) -> Viewer | None:
    """Whose jobs a caller may name (as dependencies, in explain): None (all) for an admin."""
    return None if principal.has_scope("admin") else Viewer(principal.user_id, principal.worker_id)


async def _found(conn: Any, depends_on: list[str], viewer: Viewer | None) -> set[str]:
    if viewer is None:
        rows = await conn.fetch(_EXISTING, depends_on)
    elif viewer.worker_id is not None:
        rows = await conn.fetch(_EXISTING_FOR_WORKER, depends_on, viewer.user_id, viewer.worker_id)
    else:
        rows = await conn.fetch(_EXISTING_READABLE, depends_on, viewer.user_id)
    return {r[0] for r in rows}


class DependencyCycleError(RejectedError):
    code = "dependency_cycle"
    title = "The dependencies would form a cycle"


async def check_dependencies(
    pool: "asyncpg.Pool[Any]", job_id: str | None, depends_on: list[str], at: str, *, viewer: Viewer | None
) -> None:
    """Every dependency must be an existing job the caller may read, and none may lead back to ``job_id``.

    A job the caller may not read answers exactly as a missing one (issue 13): otherwise the
    answer, and ``explain`` afterwards, would tell them it exists and what state it is in.

    Args:
        pool: The database pool.
        job_id: The job getting the dependencies (None for a new job: it cannot be in a cycle).
        depends_on: The dependency ids.
        at: The JSON pointer of the list in the request body, for errors.
        viewer: Whose jobs count (``principal_viewer``): a user's readable ones, a worker's as for
            a parent; None for an admin (every job).

    Raises:
        ValidationFailedError: Unknown or malformed ids, each with its pointer.
        DependencyCycleError: The job would (transitively) depend on itself.
    """
    if not depends_on:
        return
    async with pool.acquire() as conn:
        try:
            found = await _found(conn, depends_on, viewer)
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
    if state in TERMINAL:
        raise ParentFinishedError(f"parent {parent} is already {state}; a finished tree takes no new children")
