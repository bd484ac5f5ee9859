"""Jobs ready to run, and the choice of which goes next. Pure data structure.

A worker may run a job when the job's labels are a subset of the worker's. Jobs are kept in
heaps per (label set, project), each ordered by priority (highest first) then submission order.
To choose, every eligible heap head is scored:

    score = priority + aging_per_s * seconds waited
            - share_cost * (recent assignments of its project + recent assignments of its owner)

so priority decides among equals, a job that has waited long enough outranks fresher ones
(aging), and a project or owner that was recently handed many jobs yields to the others (fair
share over an exponentially decayed count of assignments, as multifactor schedulers do): a
flood of high-priority jobs from one project cannot starve another. Removal is lazy:
an entry whose job left the queue is skipped when it reaches a head.

Memory (a million may be queued): a job is one small record without a collector header, the same
object in its heap and in the membership map, and its heap key is shared with every job of the
same labels and project.
"""

import heapq
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import msgspec

_Key = tuple[frozenset[str], str, frozenset[str]]  # (labels, project, workers it may not go to)
_NEVER = datetime.max.replace(tzinfo=UTC)


class _Entry(msgspec.Struct, order=True, gc=False):
    """A queued job. Ordered as a tuple of its fields, so by rank: job ids are unique within a
    heap but for a stale entry of the same job, so the fields after ``job_id`` rarely compare.
    ``gc=False``: it refers to strings, a datetime and a key of frozensets, never to itself."""

    neg_priority: int
    seq: int
    job_id: str
    key: _Key
    owner: str
    queued_at: datetime


class FairShare(msgspec.Struct, frozen=True, kw_only=True):
    """Weights of the choice (see the module docstring)."""

    aging_per_s: float = 1 / 60  # one priority point per minute waited
    share_cost: float = 10.0  # priority points per recent assignment


class ReadyQueue:
    """The queued jobs a worker may be handed now."""

    def __init__(self, fair: FairShare | None = None) -> None:
        self._fair = fair or FairShare()
        self._heaps: dict[_Key, list[_Entry]] = {}
        self._keys: dict[_Key, _Key] = {}  # one shared object per key in use
        self._members: dict[str, _Entry] = {}  # job id -> its current entry (the one in its heap)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._members

    def add(
        self,
        job_id: str,
        labels: Iterable[str],
        priority: int,
        seq: int,
        *,
        project: str = "",
        owner: str = "",
        queued_at: datetime | None = None,
        excluded: frozenset[str] = frozenset(),
    ) -> None:
        """Make a job available (again); a job already present is re-ranked. ``excluded``:
        workers that may not be handed it (they already ran it for a verification quorum)."""
        self.remove(job_id)
        key = (frozenset(labels), project, excluded)
        key = self._keys.setdefault(key, key)
        entry = _Entry(-priority, seq, job_id, key, owner, queued_at or _NEVER)
        self._members[job_id] = entry
        heapq.heappush(self._heaps.setdefault(key, []), entry)

    def remove(self, job_id: str) -> None:
        """Take a job out (no-op when absent); its heap entry is dropped lazily."""
        self._members.pop(job_id, None)

    def _head(self, key: _Key) -> _Entry | None:
        heap = self._heaps[key]
        while heap:
            entry = heap[0]
            if self._members.get(entry.job_id) is entry:
                return entry
            heapq.heappop(heap)
        del self._heaps[key]
        del self._keys[key]
        return None

    def _score(self, entry: _Entry, now: datetime | None, held: Callable[[str, str], tuple[float, float]]) -> float:
        queued_at = entry.queued_at
        waited = 0.0 if now is None or queued_at > now else (now - queued_at).total_seconds()
        by_project, by_owner = held(entry.key[1], entry.owner)
        return -entry.neg_priority + self._fair.aging_per_s * waited - self._fair.share_cost * (by_project + by_owner)

    def take(
        self,
        worker_labels: Iterable[str],
        n: int,
        *,
        now: datetime | None = None,
        held: Callable[[str, str], tuple[float, float]] | None = None,
        worker_id: str = "",
        allowed: Callable[[str], bool] | None = None,
    ) -> list[str]:
        """Remove and return up to ``n`` jobs this worker may run, best first.

        Args:
            worker_labels: The worker's labels.
            n: How many at most.
            now: The time, for aging (no aging without it).
            held: ``(project, owner) -> (recent use by the project, by the owner)``; asked again
                after each pick.
            worker_id: The worker, for jobs it may not be handed.
            allowed: ``project -> bool``: projects whose jobs may go out now (not paused, under
                their rate); asked again after each pick.
        """
        have = frozenset(worker_labels)
        counts = held or (lambda _p, _o: (0.0, 0.0))
        taken: list[str] = []
        while len(taken) < n:
            best: tuple[float, _Entry, _Key] | None = None
            for key in [
                k for k in self._heaps if k[0] <= have and worker_id not in k[2] and (allowed is None or allowed(k[1]))
            ]:
                head = self._head(key)
                if head is None:
                    continue
                score = self._score(head, now, counts)
                if best is None or (score, -head.seq) > (best[0], -best[1].seq):
                    best = (score, head, key)
            if best is None:
                break
            _, entry, key = best
            heapq.heappop(self._heaps[key])
            self._members.pop(entry.job_id, None)
            taken.append(entry.job_id)
        return taken

    def take_job(
        self,
        job_id: str,
        worker_labels: Iterable[str],
        *,
        worker_id: str = "",
        allowed: Callable[[str], bool] | None = None,
    ) -> bool:
        """Remove ``job_id`` if it is queued and this worker may run it now (as ``take`` would
        judge it); whether it was taken."""
        entry = self._members.get(job_id)
        if entry is None:
            return False
        labels, project, excluded = entry.key
        if not labels <= frozenset(worker_labels) or worker_id in excluded:
            return False
        if allowed is not None and not allowed(project):
            return False
        self.remove(job_id)
        return True


class RecentUsage:
    """Counts that decay exponentially with a half-life: recent use weighs, old use fades."""

    def __init__(self, half_life_s: float = 60.0) -> None:
        self._rate = math.log(2) / half_life_s
        self._values: dict[str, tuple[float, datetime]] = {}

    def value(self, key: str, now: datetime) -> float:
        value, at = self._values.get(key, (0.0, now))
        return value * math.exp(-self._rate * max(0.0, (now - at).total_seconds()))

    def add(self, key: str, now: datetime, amount: float = 1.0) -> None:
        self._values[key] = (self.value(key, now) + amount, now)


class DelayedJobs:
    """Jobs waiting for their retry time, earliest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._due

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
