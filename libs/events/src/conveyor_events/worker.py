"""Events of the worker aggregate (subject ``conveyor.ev.worker.<worker_id>``)."""

import msgspec

from .fields import UtcDatetime

__all__ = [
    "WorkerDeleted",
    "WorkerEvent",
    "WorkerEventBase",
    "WorkerRegistered",
    "WorkerRenamed",
    "WorkerStateChanged",
]


class WorkerEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every worker event carries."""

    event_id: str
    worker_id: str
    occurred_at: UtcDatetime


class WorkerRegistered(WorkerEventBase, frozen=True, kw_only=True, tag="worker.registered"):
    """A worker was registered (request event). Only the secret's hash is stored."""

    name: str
    labels: tuple[str, ...] = ()
    capacity: int = 1
    secret_hash: str
    registered_by: str = ""
    """Who registered it: its owner, who (besides an admin) may pause, drain or delete it; ``""``
    (registered before workers had owners, or by an operator through NATS): admins only."""


class WorkerStateChanged(WorkerEventBase, frozen=True, kw_only=True, tag="worker.state_changed"):
    """An operator paused, resumed or drained the worker (request event).

    ``mode``: ``active`` takes work, ``paused`` takes none and its jobs are told to stop,
    ``draining`` finishes what it has and takes no more.
    """

    mode: str
    requested_by: str = ""


class WorkerDeleted(WorkerEventBase, frozen=True, kw_only=True, tag="worker.deleted"):
    """The worker was removed; its credentials stop working (request event)."""

    requested_by: str = ""


class WorkerRenamed(WorkerEventBase, frozen=True, kw_only=True, tag="worker.renamed"):
    """The worker took another name (task_tracker's ``/worker/update`` of its alias) (request event)."""

    name: str
    requested_by: str = ""


WorkerEvent = WorkerRegistered | WorkerStateChanged | WorkerDeleted | WorkerRenamed
"""Every event of the worker aggregate."""
