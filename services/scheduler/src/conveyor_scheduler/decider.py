"""The job aggregate: state, evolve (event -> state) and decide (command -> events). Pure."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Final, Literal, assert_never

import msgspec
from msgspec.structs import replace

from conveyor_events import (
    JobAssigned,
    JobBlocked,
    JobCancelled,
    JobCancelRequested,
    JobDeleteRequested,
    JobDependenciesSet,
    JobEvent,
    JobFailed,
    JobPauseRequested,
    JobQueued,
    JobReleased,
    JobResetRequested,
    JobResumeRequested,
    JobRetryScheduled,
    JobStarted,
    JobStartRequested,
    JobSubmitted,
    JobSucceeded,
    JobTimedOut,
    Payload,
    UtcDatetime,
)
from conveyor_events.scheduler_api import ReportResult

from .errors import LeaseNotCurrentError

Status = Literal[
    "new",  # no event yet: the job does not exist
    "submitted",  # transient: accepted, the scheduler has not decided yet
    "pending",  # held (execute=false) until started
    "blocked",
    "queued",
    "assigned",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
]
TERMINAL: Final = frozenset({"succeeded", "failed", "timed_out", "cancelled"})
LEASED: Final = frozenset({"assigned", "running"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DECISION_NS: Final = uuid.UUID("0b6c9a8e-2d7f-4f5e-b1a3-5c4d3e2f1a09")


class JobState(msgspec.Struct, frozen=True, kw_only=True):
    """A job as the scheduler knows it: its spec, where it is in its life, and its version."""

    id: str = ""
    state: Status = "new"
    project: str = ""
    owner: str = ""
    title: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    priority: int = 0
    payload: Payload | None = None
    parent_id: str | None = None
    depends_on: tuple[str, ...] = ()
    max_retries: int = 0
    timeout_s: int | None = None
    lease_s: int = 60
    dedupe_key: str | None = None
    execute: bool = True
    progress_pattern: str | None = None
    url: str | None = None
    verification: int = 1
    paused: bool = False
    cancel_requested: bool = False
    deleted: bool = False
    attempts: int = 0
    progress: float | None = None
    reason: str = ""
    lease_id: str | None = None
    worker_id: str | None = None
    retry_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    exit_code: int | None = None
    created_at: UtcDatetime = _EPOCH
    updated_at: UtcDatetime = _EPOCH
    submitted_seq: int = 0
    version: int = 0

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def retries_left(self) -> bool:
        return self.attempts < self.max_retries + 1


INITIAL: Final = JobState()


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
    gone); the caller loads them, so the decision stays pure.
    """

    job_id: str
    issued_at: UtcDatetime
    dependencies: dict[str, str] = msgspec.field(default_factory=dict)


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


class ReportFinish(msgspec.Struct, frozen=True, kw_only=True):
    """The lease holder's run ended. ``jitter`` in [0, 1) comes from the caller (no randomness here)."""

    job_id: str
    lease_id: str
    result: ReportResult
    exit_code: int | None
    issued_at: UtcDatetime
    jitter: float = 0.5
    policy: RetryPolicy = RetryPolicy()


class ExpireLease(msgspec.Struct, frozen=True, kw_only=True):
    """The lease was not renewed in time: the worker is presumed lost."""

    job_id: str
    lease_id: str
    issued_at: UtcDatetime
    jitter: float = 0.5
    policy: RetryPolicy = RetryPolicy()


class TimeOut(msgspec.Struct, frozen=True, kw_only=True):
    """The run went past the job's timeout."""

    job_id: str
    lease_id: str
    issued_at: UtcDatetime


Command = Advance | Assign | ReportStart | ReportFinish | ExpireLease | TimeOut


def decision_event_id(job_id: str, version: int, tag: str) -> str:
    """Deterministic id of a decision: the same decision on the same version has the same id.

    A scheduler that crashed after appending and decides again after restart re-sends the same
    ``Nats-Msg-Id``, which the stream deduplicates, on top of the optimistic concurrency check.
    """
    return str(uuid.uuid5(_DECISION_NS, f"{job_id}/{version}/{tag}"))


def _eid(state: JobState, tag: str) -> str:
    return decision_event_id(state.id, state.version, tag)


def decide(command: Command, state: JobState) -> list[JobEvent]:
    """Return the decision events the command calls for; ``[]`` when there is nothing to do.

    Raises:
        LeaseNotCurrentError: A report or expiry names a lease the job no longer has.
    """
    match command:
        case Advance(issued_at=at, dependencies=deps):
            return _advance(state, at, deps)
        case Assign(lease_id=lease_id, worker_id=worker_id, issued_at=at):
            if state.state != "queued" or state.paused or state.cancel_requested or state.deleted:
                return []
            if state.retry_at is not None and state.retry_at > at:
                return []
            return [
                JobAssigned(
                    event_id=_eid(state, "job.assigned"),
                    job_id=state.id,
                    occurred_at=at,
                    lease_id=lease_id,
                    worker_id=worker_id,
                    attempt=state.attempts + 1,
                    lease_s=state.lease_s,
                )
            ]
        case ReportStart(lease_id=lease_id, issued_at=at):
            _require_lease(state, lease_id)
            if state.state == "running":
                return []  # a retried report
            return [JobStarted(event_id=_eid(state, "job.started"), job_id=state.id, occurred_at=at, lease_id=lease_id)]
        case ReportFinish():
            _require_lease(state, command.lease_id)
            return _finish(state, command)
        case ExpireLease(lease_id=lease_id, issued_at=at, jitter=jitter, policy=policy):
            _require_lease(state, lease_id)
            return _retry_or_fail(state, "lease_expired", lease_id, None, at, jitter, policy)
        case TimeOut(lease_id=lease_id, issued_at=at):
            _require_lease(state, lease_id)
            if state.state != "running":
                return []
            eid = _eid(state, "job.timed_out")
            return [JobTimedOut(event_id=eid, job_id=state.id, occurred_at=at, lease_id=lease_id)]
        case _:
            assert_never(command)


_WAITING: Final = frozenset({"submitted", "blocked", "queued"})
DEPENDENCY_FAILED: Final = frozenset({"failed", "timed_out", "cancelled", "deleted", "unknown"})


def _advance(state: JobState, at: datetime, deps: dict[str, str]) -> list[JobEvent]:
    if state.state == "new" or state.is_terminal or state.deleted:
        return []
    if state.paused and state.state in LEASED and state.lease_id is not None:
        eid = _eid(state, "job.released")
        return [JobReleased(event_id=eid, job_id=state.id, occurred_at=at, lease_id=state.lease_id, reason="paused")]
    if state.cancel_requested:
        return [
            JobCancelled(event_id=_eid(state, "job.cancelled"), job_id=state.id, occurred_at=at, reason=state.reason)
        ]
    if state.depends_on and state.state in _WAITING:
        return _dependency_decision(state, at, deps)
    if state.state in ("submitted", "blocked"):
        return [JobQueued(event_id=_eid(state, "job.queued"), job_id=state.id, occurred_at=at)]
    return []


def _dependency_decision(state: JobState, at: datetime, deps: dict[str, str]) -> list[JobEvent]:
    """Documented policy: a job whose dependency failed, timed out, was cancelled or deleted
    fails without running; it is blocked until every dependency succeeded, then queued."""
    for dep in state.depends_on:
        dep_state = deps.get(dep, "unknown")
        if dep_state in DEPENDENCY_FAILED:
            eid = _eid(state, "job.failed")
            return [JobFailed(event_id=eid, job_id=state.id, occurred_at=at, reason=f"dependency {dep} {dep_state}")]
    waiting = tuple(d for d in state.depends_on if deps.get(d) != "succeeded")
    if waiting:
        if state.state == "blocked":
            return []
        return [JobBlocked(event_id=_eid(state, "job.blocked"), job_id=state.id, occurred_at=at, waiting_on=waiting)]
    if state.state in ("submitted", "blocked"):
        return [JobQueued(event_id=_eid(state, "job.queued"), job_id=state.id, occurred_at=at)]
    return []


def _require_lease(state: JobState, lease_id: str) -> None:
    if state.state not in LEASED or state.lease_id != lease_id:
        raise LeaseNotCurrentError(lease_id)


def _finish(state: JobState, c: ReportFinish) -> list[JobEvent]:
    match c.result:
        case "succeeded":
            eid = _eid(state, "job.succeeded")
            return [
                JobSucceeded(
                    event_id=eid, job_id=state.id, occurred_at=c.issued_at, lease_id=c.lease_id, exit_code=c.exit_code
                )
            ]
        case "skipped":
            eid = _eid(state, "job.released")
            return [
                JobReleased(
                    event_id=eid, job_id=state.id, occurred_at=c.issued_at, lease_id=c.lease_id, reason="skipped"
                )
            ]
        case "failed":
            reason = f"exit code {c.exit_code}" if c.exit_code is not None else "failed"
            return _retry_or_fail(state, reason, c.lease_id, c.exit_code, c.issued_at, c.jitter, c.policy)
        case _:
            assert_never(c.result)


def _retry_or_fail(
    state: JobState,
    reason: str,
    lease_id: str | None,
    exit_code: int | None,
    at: datetime,
    jitter: float,
    policy: RetryPolicy,
) -> list[JobEvent]:
    if state.retries_left:
        retry_at = at + policy.delay(state.attempts, jitter)
        eid = _eid(state, "job.retry_scheduled")
        return [
            JobRetryScheduled(
                event_id=eid,
                job_id=state.id,
                occurred_at=at,
                reason=reason,
                retry_at=retry_at,
                lease_id=lease_id,
                exit_code=exit_code,
            )
        ]
    eid = _eid(state, "job.failed")
    return [
        JobFailed(event_id=eid, job_id=state.id, occurred_at=at, reason=reason, lease_id=lease_id, exit_code=exit_code)
    ]


_OPERATOR_OVERRIDES: Final = (JobResetRequested, JobDeleteRequested)


def evolve(state: JobState, event: JobEvent) -> JobState:
    """Fold one event into the state.

    A terminal state absorbs every decision and worker report; only an operator's reset,
    restart or delete changes it. A deleted job absorbs everything.
    """
    if state.deleted or (state.state == "new" and not isinstance(event, JobSubmitted)):
        return state
    if state.is_terminal and not isinstance(event, _OPERATOR_OVERRIDES):
        return state
    at = event.occurred_at
    match event:
        case JobSubmitted():
            return _submitted(event) if state.state == "new" else state
        case JobQueued():
            if state.state not in ("submitted", "pending", "blocked"):
                return state
            return replace(state, state="queued", updated_at=at)
        case JobCancelRequested(reason=reason):
            return (
                state if state.cancel_requested else replace(state, cancel_requested=True, reason=reason, updated_at=at)
            )
        case JobCancelled(reason=reason):
            return _unleased(state, "cancelled", at, reason=reason or state.reason, finished_at=at)
        case JobAssigned():
            if state.state != "queued":
                return state
            return replace(
                state,
                state="assigned",
                lease_id=event.lease_id,
                worker_id=event.worker_id,
                attempts=event.attempt,
                retry_at=None,
                updated_at=at,
            )
        case JobStarted(lease_id=lease_id):
            if state.state != "assigned" or state.lease_id != lease_id:
                return state
            return replace(state, state="running", started_at=at, updated_at=at)
        case JobSucceeded(lease_id=lease_id, exit_code=code):
            if state.lease_id != lease_id:
                return state
            return _unleased(state, "succeeded", at, exit_code=code, finished_at=at, reason="")
        case JobFailed(reason=reason, exit_code=code, lease_id=lease_id):
            if lease_id is not None and lease_id != state.lease_id:
                return state  # about a lease the job no longer has
            return _unleased(state, "failed", at, reason=reason, exit_code=code, finished_at=at)
        case JobRetryScheduled(reason=reason, retry_at=retry_at, exit_code=code, lease_id=lease_id):
            if lease_id is not None and lease_id != state.lease_id:
                return state
            return _unleased(state, "queued", at, reason=reason, retry_at=retry_at, exit_code=code)
        case JobReleased(lease_id=lease_id):
            if state.lease_id != lease_id:
                return state
            return _unleased(state, "queued", at, attempts=max(0, state.attempts - 1), reason=event.reason)
        case JobTimedOut(lease_id=lease_id):
            if state.lease_id != lease_id:
                return state
            return _unleased(state, "timed_out", at, reason="timed out", finished_at=at)
        case JobBlocked():
            if state.state not in ("submitted", "queued"):
                return state
            return replace(state, state="blocked", updated_at=at)
        case JobDependenciesSet(depends_on=depends_on):
            return replace(state, depends_on=depends_on, updated_at=at)
        case JobPauseRequested():
            return replace(state, paused=True, updated_at=at)
        case JobResumeRequested():
            return replace(state, paused=False, updated_at=at)
        case JobStartRequested():
            return replace(state, state="submitted", updated_at=at) if state.state == "pending" else state
        case JobResetRequested():
            return _unleased(
                state,
                "submitted",
                at,
                attempts=0,
                cancel_requested=False,
                reason="",
                retry_at=None,
                started_at=None,
                finished_at=None,
                exit_code=None,
                worker_id=None,
            )
        case JobDeleteRequested():
            return replace(state, deleted=True, lease_id=None, updated_at=at)
        case _:
            assert_never(event)


def _unleased(state: JobState, new_state: Status, at: datetime, **changes: object) -> JobState:
    return replace(state, state=new_state, lease_id=None, updated_at=at, **changes)


def _submitted(e: JobSubmitted) -> JobState:
    return JobState(
        id=e.job_id,
        state="submitted" if e.execute else "pending",
        project=e.project,
        owner=e.owner,
        title=e.title,
        note=e.note,
        tags=e.tags,
        labels=e.labels,
        priority=e.priority,
        payload=e.payload,
        parent_id=e.parent_id,
        depends_on=e.depends_on,
        max_retries=e.max_retries,
        timeout_s=e.timeout_s,
        lease_s=e.lease_s,
        dedupe_key=e.dedupe_key,
        execute=e.execute,
        progress_pattern=e.progress_pattern,
        url=e.url,
        verification=e.verification,
        created_at=e.occurred_at,
        updated_at=e.occurred_at,
    )


def apply(state: JobState, event: JobEvent, seq: int) -> JobState:
    """Fold an event read at stream sequence ``seq``, recording the version it reached."""
    new = evolve(state, event)
    if new.state == "new":
        return state  # an event before the submission: nothing to record
    return replace(new, version=seq, submitted_seq=state.submitted_seq or seq)


def replay(events: Iterable[tuple[int, JobEvent]]) -> JobState:
    """Rebuild a job from its ``(seq, event)`` history."""
    return reduce(lambda s, item: apply(s, item[1], item[0]), events, INITIAL)
