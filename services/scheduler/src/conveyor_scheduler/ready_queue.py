"""Jobs ready to run, best first, grouped by the labels they need. Pure data structure.

A worker may run a job when the job's labels are a subset of the worker's. Jobs are grouped by
their exact label set, each group a heap ordered by priority (highest first) then submission
order; a worker looks at the head of every group it qualifies for. Removal is lazy: an entry
whose job left the queue is skipped when it reaches a head.
"""

import heapq
from collections.abc import Iterable
from datetime import datetime

_Entry = tuple[int, int, str]  # (-priority, submitted_seq, job_id)


class ReadyQueue:
    """The queued jobs a worker may be handed now."""

    def __init__(self) -> None:
        self._groups: dict[frozenset[str], list[_Entry]] = {}
        self._members: dict[str, tuple[frozenset[str], _Entry]] = {}

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._members

    def add(self, job_id: str, labels: Iterable[str], priority: int, seq: int) -> None:
        """Make a job available (again); a job already present is re-ranked."""
        self.remove(job_id)
        group = frozenset(labels)
        entry = (-priority, seq, job_id)
        self._members[job_id] = (group, entry)
        heapq.heappush(self._groups.setdefault(group, []), entry)

    def remove(self, job_id: str) -> None:
        """Take a job out (no-op when absent); its heap entry is dropped lazily."""
        self._members.pop(job_id, None)

    def _head(self, group: frozenset[str]) -> _Entry | None:
        heap = self._groups[group]
        while heap:
            entry = heap[0]
            member = self._members.get(entry[2])
            if member is not None and member[1] == entry:
                return entry
            heapq.heappop(heap)
        del self._groups[group]
        return None

    def take(self, worker_labels: Iterable[str], n: int) -> list[str]:
        """Remove and return up to ``n`` jobs this worker may run, best first."""
        have = frozenset(worker_labels)
        taken: list[str] = []
        while len(taken) < n:
            best: tuple[_Entry, frozenset[str]] | None = None
            for group in [g for g in self._groups if g <= have]:
                head = self._head(group)
                if head is not None and (best is None or head < best[0]):
                    best = (head, group)
            if best is None:
                break
            entry, group = best
            heapq.heappop(self._groups[group])
            self._members.pop(entry[2], None)
            taken.append(entry[2])
        return taken


class DelayedJobs:
    """Jobs waiting for their retry time, earliest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}

    def add(self, job_id: str, at: datetime) -> None:
        self._due[job_id] = at
        heapq.heappush(self._heap, (at, job_id))

    def remove(self, job_id: str) -> None:
        self._due.pop(job_id, None)

    def pop_due(self, now: datetime) -> list[str]:
        """Remove and return the jobs whose time has come."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            at, job_id = heapq.heappop(self._heap)
            if self._due.get(job_id) == at:
                del self._due[job_id]
                due.append(job_id)
        return due
