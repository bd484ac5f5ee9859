"""The job aggregate's decisions: decide (command -> events). Pure.

The state and evolve (event -> state) are in ``job_state.py``; this module re-exports them, so
the aggregate is imported from one place.
"""

import uuid
from datetime import datetime
from typing import Final, assert_never

from conveyor_events import (
    JobAssigned,
    JobBlocked,
    JobCancelled,
    JobEvent,
    JobFailed,
    JobQueued,
    JobReleased,
    JobRetryScheduled,
    JobRolledUp,
    JobStarted,
    JobSucceeded,
    JobTaskReported,
    JobTimedOut,
    JobVerificationRecorded,
)
from conveyor_events.states import DEPENDENCY_FAILED, LEASED, READY, TASK_STATES, TERMINAL

from .commands import (
    Advance,
    Assign,
    Command,
    ExpireLease,
    ReleaseLease,
    ReportFinish,
    ReportStart,
    ReportTask,
    RetryPolicy,
    TimeOut,
)
from .errors import LeaseNotCurrentError, ReportRejectedError
from .groups import group_state
from .job_state import INITIAL, NO_CHILDREN, JobState, Status, TaskState, Vote, apply, evolve, replay

__all__ = [
    "INITIAL",
    "LEASED",
    "NO_CHILDREN",
    "READY",
    "TERMINAL",
    "Advance",
    "Assign",
    "Command",
    "ExpireLease",
    "JobState",
    "ReleaseLease",
    "ReportFinish",
    "ReportStart",
    "ReportTask",
    "RetryPolicy",
    "Status",
    "TaskState",
    "TimeOut",
    "Vote",
    "apply",
    "decide",
    "decision_event_id",
    "evolve",
    "replay",
]

_DECISION_NS: Final = uuid.UUID("0b6c9a8e-2d7f-4f5e-b1a3-5c4d3e2f1a09")


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
        ReportRejectedError: A report the job cannot take as sent (unknown task, missing hash).
    """
    match command:
        case Advance(issued_at=at, dependencies=deps, children=children):
            return _advance(state, at, deps) or _roll_up(state, at, children)
        case Assign(lease_id=lease_id, worker_id=worker_id, issued_at=at):
            return _assign(state, lease_id, worker_id, at)
        case ReportStart(lease_id=lease_id, issued_at=at):
            _require_lease(state, lease_id)
            if state.state == "running":
                return []  # a retried report
            return [_started(state, lease_id, at)]
        case ReportTask():
            return _report_task(state, command)
        case ReportFinish():
            _require_lease(state, command.lease_id)
            if state.state == "assigned":
                # The start came with the finish: the run is recorded as started, then ended.
                started = _started(state, command.lease_id, _start_time(state, command))
                ended = _finish(evolve(state, started), command)
                return [started, *ended] if ended else []
            return _finish(state, command)
        case ExpireLease(lease_id=lease_id, issued_at=at, jitter=jitter, policy=policy):
            _require_lease(state, lease_id)
            return _retry_or_fail(state, "lease_expired", lease_id, None, at, jitter, policy)
        case ReleaseLease(lease_id=lease_id, reason=reason, issued_at=at):
            _require_lease(state, lease_id)
            eid = _eid(state, "job.released")
            return [JobReleased(event_id=eid, job_id=state.id, occurred_at=at, lease_id=lease_id, reason=reason)]
        case TimeOut(lease_id=lease_id, issued_at=at):
            _require_lease(state, lease_id)
            if state.state != "running":
                return []
            eid = _eid(state, "job.timed_out")
            return [JobTimedOut(event_id=eid, job_id=state.id, occurred_at=at, lease_id=lease_id)]
        case _:
            assert_never(command)


def _started(state: JobState, lease_id: str, at: datetime) -> JobStarted:
    return JobStarted(event_id=_eid(state, "job.started"), job_id=state.id, occurred_at=at, lease_id=lease_id)


def _start_time(state: JobState, c: ReportFinish) -> datetime:
    """When a run reported with its finish began: the worker's word, kept between the assignment
    and the finish (a worker's clock may be off; the record must stay in order)."""
    if c.started_at is None:
        return c.issued_at
    return min(max(c.started_at, state.updated_at), c.issued_at)


def _assign(state: JobState, lease_id: str, worker_id: str, at: datetime) -> list[JobEvent]:
    if state.state not in READY or state.is_group or state.paused or state.cancel_requested or state.deleted:
        return []
    if state.retry_at is not None and state.retry_at > at:
        return []
    if state.voted(worker_id):
        return []  # a quorum needs results from different workers
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


_WAITING: Final = frozenset({"submitted", "blocked", "queued"})


def _advance(state: JobState, at: datetime, deps: dict[str, str]) -> list[JobEvent]:
    if state.state == "new" or state.is_terminal or state.deleted:
        return []
    if state.paused and state.state in LEASED and state.lease_id is not None:
        eid = _eid(state, "job.released")
        return [JobReleased(event_id=eid, job_id=state.id, occurred_at=at, lease_id=state.lease_id, reason="paused")]
    if state.is_group:
        # A group never runs: cancelling one with no children ends it; otherwise its state
        # follows its children's (the gateway cancels those), see ``_roll_up``.
        if state.cancel_requested and not any(state.children.values()):
            eid = _eid(state, "job.cancelled")
            return [JobCancelled(event_id=eid, job_id=state.id, occurred_at=at, reason=state.reason)]
        return []
    if state.cancel_requested:
        return [
            JobCancelled(event_id=_eid(state, "job.cancelled"), job_id=state.id, occurred_at=at, reason=state.reason)
        ]
    if state.depends_on and state.state in _WAITING:
        return _dependency_decision(state, at, deps)
    if state.state in ("submitted", "blocked"):
        return [JobQueued(event_id=_eid(state, "job.queued"), job_id=state.id, occurred_at=at)]
    return []


def _roll_up(state: JobState, at: datetime, children: dict[str, int] | None) -> list[JobEvent]:
    """Record new children counters, and a group's new state when they change it."""
    if state.state == "new" or state.deleted:
        return []
    counts = state.children if children is None else {s: n for s, n in children.items() if n > 0}
    new_state, reason = str(state.state), ""
    if state.is_group and state.state not in TERMINAL and state.state != "pending":
        new_state, reason = group_state(counts)
    if new_state == state.state and counts == state.children:
        return []
    eid = _eid(state, "job.rolled_up")
    return [JobRolledUp(event_id=eid, job_id=state.id, occurred_at=at, state=new_state, counts=counts, reason=reason)]


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


def _report_task(state: JobState, c: ReportTask) -> list[JobEvent]:
    _require_lease(state, c.lease_id)
    if c.task.state not in TASK_STATES - {"pending"}:
        raise ReportRejectedError("unknown_task_state", f"task state {c.task.state!r} is not one of {TASK_STATES}")
    current = next((t for t in state.tasks if t.name == c.task.name), None)
    if current is None:
        names = ", ".join(t.name for t in state.tasks) or "none: only manifest jobs have tasks"
        raise ReportRejectedError("unknown_task", f"the job has no task {c.task.name!r} (its tasks: {names})")
    if current.state == c.task.state and current.exit_code == c.task.exit_code:
        return []  # a retried report
    eid = decision_event_id(state.id, state.version, f"job.task_reported/{c.task.name}/{c.task.state}")
    return [JobTaskReported(event_id=eid, job_id=state.id, occurred_at=c.issued_at, lease_id=c.lease_id, task=c.task)]


def _finish(state: JobState, c: ReportFinish) -> list[JobEvent]:
    match c.result:
        case "succeeded":
            if state.verification > 1:
                return _verify(state, c)
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


def _verify(state: JobState, c: ReportFinish) -> list[JobEvent]:
    """A quorum job closes when ``verification`` different workers reported the same hash."""
    if not c.verification:
        raise ReportRejectedError(
            "verification_required",
            f"this job needs {state.verification} agreeing results: report its result hash in 'verification'",
        )
    worker = state.worker_id or ""
    agreeing = 1 + sum(1 for v in state.votes if v.hash == c.verification and v.worker_id != worker)
    at = c.issued_at
    if agreeing >= state.verification:
        eid = _eid(state, "job.succeeded")
        return [
            JobSucceeded(
                event_id=eid,
                job_id=state.id,
                occurred_at=at,
                lease_id=c.lease_id,
                exit_code=c.exit_code,
                verification=c.verification,
            )
        ]
    if state.attempts >= state.verification + state.max_retries:
        reason = f"no verification quorum: {len(state.votes) + 1} runs, at most {agreeing} agreeing"
        eid = _eid(state, "job.failed")
        return [JobFailed(event_id=eid, job_id=state.id, occurred_at=at, reason=reason, lease_id=c.lease_id)]
    eid = _eid(state, "job.verification_recorded")
    return [
        JobVerificationRecorded(
            event_id=eid, job_id=state.id, occurred_at=at, lease_id=c.lease_id, worker_id=worker, hash=c.verification
        )
    ]


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
        retry_at = at + policy.delay(state.failures, jitter)
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
