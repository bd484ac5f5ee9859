"""Pausing, resuming, draining and renaming a worker, once for every surface: ``WorkerStateChanged``
or ``WorkerRenamed`` appended on the worker's subject. The caller has checked that ``by`` may do it."""

from datetime import UTC, datetime

from conveyor_events import WorkerRenamed, WorkerStateChanged, new_uuid7, worker_subject

from .context import State
from .worker_bodies import WorkerMode


async def set_worker_mode(state: State, worker_id: str, mode: WorkerMode, *, by: str) -> int:
    """Append the worker's new mode; returns the event's stream sequence."""
    event = WorkerStateChanged(
        event_id=new_uuid7(), worker_id=worker_id, occurred_at=datetime.now(UTC), mode=mode, requested_by=by
    )
    return (await state["appender"].append(worker_subject(worker_id), event)).seq


async def rename_worker(state: State, worker_id: str, name: str, *, by: str) -> int:
    """Give the worker another name (task_tracker's alias); returns the event's stream sequence."""
    event = WorkerRenamed(
        event_id=new_uuid7(), worker_id=worker_id, occurred_at=datetime.now(UTC), name=name, requested_by=by
    )
    return (await state["appender"].append(worker_subject(worker_id), event)).seq
