"""Pausing, draining and resuming a worker, as a use case: who may (who registered it, or an
admin) and the event that says so. Every surface (the API, the dashboard) calls it."""

from datetime import UTC, datetime

from conveyor_events import WorkerStateChanged, new_uuid7, worker_subject

from ..errors import ForbiddenError, WorkerNotFoundError
from .context import State
from .token_auth import Principal
from .worker_bodies import WorkerMode
from .worker_reader import WorkerDoc


async def live_worker(state: State, worker_id: str) -> WorkerDoc:
    """The worker, unless there is none or it was deleted.

    Raises:
        WorkerNotFoundError: No such live worker.
    """
    doc = await state["workers"].get(worker_id)
    if doc is None or doc.deleted:
        raise WorkerNotFoundError(f"no worker {worker_id}")
    return doc


async def owned_worker(state: State, principal: Principal, worker_id: str) -> WorkerDoc:
    """The live worker, if ``principal`` registered it or is an admin (issue 13).

    Raises:
        WorkerNotFoundError: No such live worker.
        ForbiddenError: Someone else's worker (every ``workers`` holder may read it, hence 403).
    """
    doc = await live_worker(state, worker_id)
    if not principal.has_scope("admin") and (not doc.owner or doc.owner != principal.user_id):
        raise ForbiddenError(
            f"worker {worker_id} is not yours: only who registered it, or an admin, may pause, drain or delete it"
        )
    return doc


async def set_worker_mode(state: State, principal: Principal, worker_id: str, mode: WorkerMode) -> int:
    """Set the worker's mode (``active``, ``paused``, ``draining``); the stream sequence of the event.

    Raises:
        WorkerNotFoundError: No such live worker.
        ForbiddenError: Not the caller's worker.
    """
    await owned_worker(state, principal, worker_id)
    event = WorkerStateChanged(
        event_id=new_uuid7(),
        worker_id=worker_id,
        occurred_at=datetime.now(UTC),
        mode=mode,
        requested_by=principal.user_id,
    )
    appended = await state["appender"].append(worker_subject(worker_id), event)
    return appended.seq
