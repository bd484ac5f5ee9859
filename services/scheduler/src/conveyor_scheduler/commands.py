"""What the scheduler can be asked to decide about a job: the commands ``decide`` takes. Pure data."""

from datetime import timedelta

import msgspec

from conveyor_events import TaskReport, UtcDatetime
from conveyor_events.scheduler_api import ReportResult

__all__ = [
    "Advance",
    "Assign",
    "Command",
    "ExpireLease",
    "ReleaseLease",
    "ReportFinish",
    "ReportStart",
    "ReportTask",
    "RetryPolicy",
    "TimeOut",
]


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Exponential backoff: ``base_s * 2^(attempt-1)``, capped, scaled by a jitter in [0.5, 1)."""

    base_s: float = 2.0
    cap_s: float = 300.0

    def delay(self, attempt: int, jitter: float) -> timedelta:
        raw = min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1))
        return timedelta(seconds=raw * (0.5 + min(max(jitter, 0.0), 1.0) / 2))


class Advance(msgspec.Struct, frozen=True, kw_only=True):
    """Decide whatever the job's state calls for now (queue it, block it, finish a cancel, ...).

    ``dependencies`` maps each dependency id to its state (``deleted`` or ``unknown`` when it is
    gone); ``children`` counts the job's children by state (``None``: not loaded, leave the
    roll-up alone). The caller loads both, so the decision stays pure.
    """

    job_id: str
    issued_at: UtcDatetime
    dependencies: dict[str, str] = msgspec.field(default_factory=dict)
    children: dict[str, int] | None = None


class Assign(msgspec.Struct, frozen=True, kw_only=True):
    """Lease the job to a worker."""

    job_id: str
    lease_id: str
    worker_id: str
    issued_at: UtcDatetime


class ReportStart(msgspec.Struct, frozen=True, kw_only=True):
    """The lease holder started the run."""

    job_id: str
    lease_id: str
    issued_at: UtcDatetime


class ReportTask(msgspec.Struct, frozen=True, kw_only=True):
    """The lease holder reports a manifest task's state."""

    job_id: str
    lease_id: str
    task: TaskReport
    issued_at: UtcDatetime


class ReportFinish(msgspec.Struct, frozen=True, kw_only=True):
    """The lease holder's run ended. ``jitter`` in [0, 1) comes from the caller (no randomness here).

    ``verification`` is the run's result hash, which a job needing a quorum requires.
    ``started_at``: when the run began, for a run whose start was never reported (a worker
    reports the start of a short run with its finish, saving a round trip).
    """

    job_id: str
    lease_id: str
    result: ReportResult
    exit_code: int | None
    issued_at: UtcDatetime
    verification: str | None = None
    started_at: UtcDatetime | None = None
    jitter: float = 0.5
    policy: RetryPolicy = RetryPolicy()


class ExpireLease(msgspec.Struct, frozen=True, kw_only=True):
    """The lease was not renewed in time: the worker is presumed lost."""

    job_id: str
    lease_id: str
    issued_at: UtcDatetime
    jitter: float = 0.5
    policy: RetryPolicy = RetryPolicy()


class ReleaseLease(msgspec.Struct, frozen=True, kw_only=True):
    """Take the job back from its worker without counting the attempt (e.g. the worker was
    paused): it goes back to the queue to run elsewhere."""

    job_id: str
    lease_id: str
    reason: str
    issued_at: UtcDatetime


class TimeOut(msgspec.Struct, frozen=True, kw_only=True):
    """The run went past the job's timeout."""

    job_id: str
    lease_id: str
    issued_at: UtcDatetime


Command = Advance | Assign | ReportStart | ReportTask | ReportFinish | ExpireLease | ReleaseLease | TimeOut
