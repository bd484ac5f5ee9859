"""The worker aggregate as the scheduler keeps it: registration, mode, deletion. Pure."""

from datetime import UTC, datetime
from typing import Final, Literal, assert_never

import msgspec
from msgspec.structs import replace

from conveyor_events import (
    UtcDatetime,
    WorkerDeleted,
    WorkerEvent,
    WorkerRegistered,
    WorkerRenamed,
    WorkerStateChanged,
)

Mode = Literal["active", "paused", "draining"]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class WorkerState(msgspec.Struct, frozen=True, kw_only=True):
    """A registered worker: what it can run and whether it may take work."""

    id: str = ""
    name: str = ""
    labels: tuple[str, ...] = ()
    capacity: int = 1
    secret_hash: str = ""
    owner: str = ""  # who registered it (``WorkerRegistered.registered_by``)
    mode: Mode = "active"
    deleted: bool = False
    registered_at: UtcDatetime = _EPOCH
    registered_seq: int = 0
    version: int = 0

    @property
    def exists(self) -> bool:
        return bool(self.id) and not self.deleted

    @property
    def takes_work(self) -> bool:
        return self.exists and self.mode == "active"


def evolve_worker(state: WorkerState, event: WorkerEvent) -> WorkerState:
    """Fold one worker event. Deletion absorbs everything after it."""
    if state.deleted:
        return state
    match event:
        case WorkerRegistered():
            if state.id:
                return state
            return WorkerState(
                id=event.worker_id,
                name=event.name,
                labels=event.labels,
                capacity=event.capacity,
                secret_hash=event.secret_hash,
                owner=event.registered_by,
                registered_at=event.occurred_at,
            )
        case WorkerStateChanged(mode=mode):
            if not state.id or mode not in ("active", "paused", "draining"):
                return state
            return replace(state, mode=mode)
        case WorkerDeleted():
            return replace(state, deleted=True) if state.id else state
        case WorkerRenamed(name=name):
            return replace(state, name=name) if state.id and name else state
        case _:
            assert_never(event)


def apply_worker(state: WorkerState, event: WorkerEvent, seq: int) -> WorkerState:
    """Fold a worker event read at ``seq``."""
    new = evolve_worker(state, event)
    if not new.id:
        return state  # an event before the registration: nothing to record
    return replace(new, version=seq, registered_seq=state.registered_seq or seq)
