"""Workers' access to projects (task_tracker's model), once for every surface: a worker asks for
assign and/or submit access, a manager (``manage_access``) grants or rejects it.

Any worker may be assigned jobs of a ``public`` project; ``private`` and ``hidden`` ones need a
grant, and a hidden project does not exist for a worker without one.
"""

from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

from conveyor_events import ProjectAccessRequested, ProjectWorkerAccessSet, new_uuid7, project_subject

from ..errors import ProjectNotFoundError, WorkerNotFoundError
from .context import State
from .project_access import ProjectDoc
from .reader import fetch_projection

_NO_PROJECT: Final = "00000000-0000-0000-0000-000000000000"


class Access(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's access to a project: ``status`` (``requested``, ``granted``, ``rejected``), what
    it holds and what it asked for."""

    worker_id: str
    status: str
    assign: bool
    submit: bool
    requested_assign: bool
    requested_submit: bool


_ACCESS_COLS: Final = "worker_id::text AS worker_id, status, assign, submit, requested_assign, requested_submit"


async def access_of(state: State, project_id: str, worker_id: str) -> Access | None:
    """The worker's access to the project, or None when it never asked."""
    rows = await fetch_projection(
        state["projects"].pool,
        f"SELECT {_ACCESS_COLS} FROM identity.worker_access WHERE project_id = $1 AND worker_id = $2::uuid",
        project_id,
        worker_id,
    )
    return msgspec.convert(dict(rows[0]), Access) if rows else None


async def accesses(state: State, project_id: str, limit: int = 10_000) -> list[Access]:
    """Every worker's access to the project (requests and grants), latest change first."""
    rows = await fetch_projection(
        state["projects"].pool,
        f"SELECT {_ACCESS_COLS} FROM identity.worker_access WHERE project_id = $1 ORDER BY updated_at DESC LIMIT $2",
        project_id,
        limit,
    )
    return [msgspec.convert(dict(r), Access) for r in rows]


async def request_access(
    state: State, worker_id: str, project: ProjectDoc | None, *, assign: bool, submit: bool, hidden_too: bool = False
) -> int:
    """Record the worker's request (a manager decides); returns its stream sequence.

    ``hidden_too``: a hidden project takes requests too (task_tracker's workers ask by number).

    Raises:
        ProjectNotFoundError: No such project, or a hidden one the worker holds no grant on.
    """
    access = await access_of(state, project.id if project else _NO_PROJECT, worker_id)
    granted = access is not None and access.status == "granted"
    if project is None or (project.visibility == "hidden" and not granted and not hidden_too):
        raise ProjectNotFoundError("no such project")
    event = ProjectAccessRequested(
        event_id=new_uuid7(),
        project_id=project.id,
        occurred_at=datetime.now(UTC),
        worker_id=worker_id,
        assign=assign,
        submit=submit,
    )
    return (await state["appender"].append(project_subject(project.id), event)).seq


async def decide_access(
    state: State,
    project: ProjectDoc,
    worker_id: str,
    status: Literal["granted", "rejected"],
    *,
    assign: bool,
    submit: bool,
    by: str,
) -> None:
    """Grant (what) or reject a worker's access, as ``by``, and wait (bounded) until it applies.

    The caller has checked that ``by`` holds ``manage_access`` on the project.

    Raises:
        WorkerNotFoundError: No such worker, or a deleted one.
    """
    worker = await state["workers"].get(worker_id)
    if worker is None or worker.deleted:
        raise WorkerNotFoundError(f"no worker {worker_id}")
    event = ProjectWorkerAccessSet(
        event_id=new_uuid7(),
        project_id=project.id,
        occurred_at=datetime.now(UTC),
        worker_id=worker_id,
        status=status,
        assign=assign,
        submit=submit,
        requested_by=by,
    )
    appended = await state["appender"].append(project_subject(project.id), event)
    await state["projects_watcher"].wait_for(appended.seq, state["write_wait_s"])
