"""The tasks this gateway handed out and not yet released: task_tracker releases by task id,
Conveyor by lease id. A lease handed out here is remembered (its id, job, attempt and where its
log is), so a release or a log line finds it without a read; one handed out by another gateway
(or before a restart) is found in the scheduler's projection instead (``tasks.find_lease``)."""

import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

_MAX: Final = 100_000


@dataclass(slots=True)
class Held:
    """One lease a worker holds on a task."""

    lease_id: str
    job_id: str
    attempt: int
    leased_at: datetime
    log_offset: int = field(default=0)


class HeldTasks:
    """``(worker id, task number) -> Held`` for one gateway."""

    def __init__(self) -> None:
        self._by_task: dict[tuple[str, int], Held] = {}
        self._by_worker: dict[str, set[int]] = {}

    def put(self, worker_id: str, task: int, held: Held) -> None:
        if len(self._by_task) >= _MAX:  # leases nobody released (workers gone): start afresh
            self._by_task.clear()
            self._by_worker.clear()
        self._by_task[(worker_id, task)] = held
        self._by_worker.setdefault(worker_id, set()).add(task)

    def get(self, worker_id: str, task: int) -> Held | None:
        return self._by_task.get((worker_id, task))

    def pop(self, worker_id: str, task: int) -> None:
        self._by_task.pop((worker_id, task), None)
        tasks = self._by_worker.get(worker_id)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._by_worker[worker_id]

    def of_worker(self, worker_id: str) -> list[Held]:
        return [h for t in self._by_worker.get(worker_id, ()) if (h := self._by_task.get((worker_id, t)))]


_per_gateway: Final[weakref.WeakKeyDictionary[object, HeldTasks]] = weakref.WeakKeyDictionary()


def held_tasks(owner: object) -> HeldTasks:
    """The held tasks of the gateway whose lifespan made ``owner`` (one of its resources)."""
    found = _per_gateway.get(owner)
    if found is None:
        found = _per_gateway[owner] = HeldTasks()
    return found
