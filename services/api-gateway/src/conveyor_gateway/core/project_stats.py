"""Counts over one project's jobs and worker access, for the façades' monitoring pages
(task_tracker's ``/project/monitoring`` and ``/project/assignees``)."""

from typing import Final

from .context import State
from .reader import fetch_projection

_STATES_SQL: Final = "SELECT state, count(*) FROM scheduler.jobs WHERE project = $1 AND NOT deleted GROUP BY state"
_ASSIGNEES_SQL: Final = (
    "SELECT doc->>'worker_id', count(*) FROM scheduler.jobs WHERE project = $1 AND NOT deleted"
    " AND state IN ('assigned', 'running') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $2"
)
_ACCESS_SQL: Final = (
    "SELECT count(*) FROM identity.worker_access a JOIN identity.projects p ON p.id = a.project_id"
    " WHERE p.name = $1 AND a.status = 'granted'"
)


async def state_counts(state: State, project: str) -> dict[str, int]:
    """The project's live jobs by state."""
    return {r[0]: r[1] for r in await fetch_projection(state["reader"].pool, _STATES_SQL, project)}


async def assignee_counts(state: State, project: str, limit: int) -> list[tuple[str, int]]:
    """The workers holding most of the project's jobs now, with how many each."""
    return [(r[0], r[1]) for r in await fetch_projection(state["reader"].pool, _ASSIGNEES_SQL, project, limit)]


async def granted_workers(state: State, project: str) -> int:
    """How many workers hold granted access to the project."""
    rows = await fetch_projection(state["projects"].pool, _ACCESS_SQL, project)
    return int(rows[0][0]) if rows else 0
