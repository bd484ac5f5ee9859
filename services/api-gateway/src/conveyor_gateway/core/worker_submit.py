"""Workers submitting jobs with their own credentials (task_tracker's ``SUBMIT`` permission).

``POST /v1/jobs`` and ``POST /v1/jobs/bulk`` also take a worker's HTTP Basic credentials. The rules:

- A worker may submit into a project only with ``submit`` access *granted* by one of its managers
  (``PUT /v1/projects/{name}/workers/{worker_id}``), whatever the project's visibility: in
  task_tracker's matrix a worker without a grant may assign from a public project but never
  submit to one. A name no project claims has no grants, so a worker cannot submit there.
- Every refusal is the same 403, whether the project is missing, hidden, private or public, so the
  answer says nothing about which projects exist.
- A child (``parent``) may only go under a job the worker currently holds a lease on (a recipe's
  follow-ups) or under a job of a project it holds ``submit`` access to; any other parent answers
  as an unknown one (422), as for a user who may not see it.
- The job's owner is ``worker:<worker id>`` (``WORKER_OWNER_PREFIX``): its project's readers, the
  project's own visibility and the job's lists say who else sees it; the owner filter of
  ``GET /v1/jobs`` finds a worker's submissions by that name.
"""

from collections.abc import Iterable
from typing import Any, Final

import asyncpg

from conveyor_events import EVENTS_STREAM

from ..errors import FieldError, ForbiddenError, ValidationFailedError
from .reader import fetch_projection
from .token_auth import Principal

WORKER_OWNER_PREFIX: Final = "worker:"
_SUBMIT_SCOPES: Final = frozenset({"jobs:write"})
_LIVE: Final = ["assigned", "running"]


def worker_principal(worker_id: str) -> Principal:
    """The caller a worker's credentials stand for on the submit endpoints: it owns what it submits."""
    owner = f"{WORKER_OWNER_PREFIX}{worker_id}"
    return Principal(user_id=owner, name=owner, is_admin=False, scopes=_SUBMIT_SCOPES, token_id="", worker_id=worker_id)


def refused_projects(names: Iterable[str], granted: Iterable[str]) -> list[str]:
    """The names (in order, once each) a worker holding ``submit`` on ``granted`` may not submit to."""
    allowed = set(granted)
    return [name for name in dict.fromkeys(names) if name not in allowed]


async def _submit_granted(pool: "asyncpg.Pool[Any]", worker_id: str, names: list[str]) -> set[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.name FROM identity.projects p JOIN identity.worker_access w ON w.project_id = p.id"
            " WHERE w.worker_id = $1::uuid AND w.status = 'granted' AND w.submit AND p.name = ANY($2::text[])",
            worker_id,
            names,
        )
    return {r["name"] for r in rows}


async def check_worker_submit(pool: "asyncpg.Pool[Any]", worker_id: str, project_names: Iterable[str]) -> None:
    """Refuse unless the worker holds granted ``submit`` access to every project named.

    Raises:
        ForbiddenError: For the first project without it (one answer whether it exists or not).
    """
    names = list(dict.fromkeys(project_names))
    refused = refused_projects(names, await _submit_granted(pool, worker_id, names))
    if refused:
        raise ForbiddenError(
            f"this worker may not submit to project {refused[0]!r}: it needs submit access granted by a manager"
            f' (ask with POST /v1/workers/{worker_id}/access-requests {{"project": ..., "submit": true}})'
        )


_PARENT_SQL: Final = (
    "SELECT 1 FROM scheduler.jobs j WHERE j.id = $1::uuid AND NOT j.deleted AND ("
    " (j.doc->>'worker_id' = $2 AND j.state = ANY($3::text[])) OR EXISTS ("
    "  SELECT 1 FROM identity.projects p JOIN identity.worker_access w ON w.project_id = p.id"
    "  WHERE p.name = j.project AND w.worker_id = $2::uuid AND w.status = 'granted' AND w.submit))"
)


async def check_worker_parent(state: Any, worker_id: str, parent: str | None, at: str) -> None:
    """A worker's child goes under a job it holds a live lease on, or one of a project it may submit to.

    The scheduler's projection may not show a lease granted a moment ago yet: before refusing,
    the check waits (up to the write wait) until it has folded everything appended so far.

    Raises:
        ValidationFailedError: Any other parent, answered as a missing one (pointer ``at``).
    """
    if parent is None:
        return
    pool = state["reader"].pool
    if await fetch_projection(pool, _PARENT_SQL, parent, worker_id, _LIVE):
        return
    info = await state["js"].stream_info(EVENTS_STREAM)
    await state["watcher"].wait_for(info.state.last_seq, state["write_wait_s"])
    if not await fetch_projection(pool, _PARENT_SQL, parent, worker_id, _LIVE):
        raise ValidationFailedError("unknown parent", errors=[FieldError(pointer=at, detail=f"no job {parent}")])
