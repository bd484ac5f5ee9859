"""Operator commands on a worker, once for every surface: change its mode (active, paused,
draining) and delete it. Only who registered the worker, or an admin, may (issue 13)."""

from datetime import UTC, datetime

from conveyor_events import WorkerDeleted, WorkerStateChanged, new_uuid7, worker_subject

from ..errors import ForbiddenError, WorkerNotFoundError
from .context import State
from .reads import wait_applied
from .token_auth import Principal
from .worker_bodies import WorkerMode
from .worker_reader import WorkerDoc


async def live_worker(state: State, worker_id: str) -> WorkerDoc:
    """The worker, unless it is deleted.

    Raises:
        WorkerNotFoundError: No such live worker.
    """
    doc = await state["workers"].get(worker_id)
    if doc is None or doc.deleted:
        raise WorkerNotFoundError(f"no worker {worker_id}")
    return doc


async def owned_worker(state: State, principal: Principal, worker_id: str) -> WorkerDoc:
    """The live worker, if ``principal`` registered it or is an admin.

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
    """Set the worker's mode; the stream sequence of the change (wait for it to read it back).

    Raises:
        WorkerNotFoundError: No such live worker.
        ForbiddenError: Someone else's worker.
    """
    await owned_worker(state, principal, worker_id)
    event = WorkerStateChanged(
        event_id=new_uuid7(), worker_id=worker_id, occurred_at=datetime.now(UTC), mode=mode,
        requested_by=principal.user_id,
    )  # fmt: skip
    appended = await state["appender"].append(worker_subject(worker_id), event)
    return appended.seq


async def delete_worker(state: State, principal: Principal, worker_id: str) -> bool:
    """Delete the worker; True once the scheduler has applied it (its credentials stop working at
    once on this gateway and within the credential cache's TTL on the others).

    Raises:
        WorkerNotFoundError: No such live worker.
        ForbiddenError: Someone else's worker.
    """
    await owned_worker(state, principal, worker_id)
    event = WorkerDeleted(
        event_id=new_uuid7(), worker_id=worker_id, occurred_at=datetime.now(UTC), requested_by=principal.user_id
    )
    appended = await state["appender"].append(worker_subject(worker_id), event)
    is_applied = await wait_applied(state, appended.seq)
    state["auth"].forget(worker_id)  # after the wait: a lookup meanwhile may have cached the live row
    return is_applied
