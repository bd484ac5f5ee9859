"""Renaming a worker (task_tracker's ``/worker/update`` of its alias): ``WorkerRenamed`` appended on
the worker's subject. The caller has proved it is the worker (or may act for it); pausing,
draining and deleting are in ``worker_commands``."""

from datetime import UTC, datetime

from conveyor_events import WorkerRenamed, new_uuid7, worker_subject

from .context import State


async def rename_worker(state: State, worker_id: str, name: str, *, by: str) -> int:
    """Give the worker another name (task_tracker's alias); returns the event's stream sequence."""
    event = WorkerRenamed(
        event_id=new_uuid7(), worker_id=worker_id, occurred_at=datetime.now(UTC), name=name, requested_by=by
    )
    return (await state["appender"].append(worker_subject(worker_id), event)).seq
