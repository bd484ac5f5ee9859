"""The job aggregate's state and how an event changes it (``evolve``, ``apply``, ``replay``). Pure.

The decisions (command -> events) are in ``decider.py``.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import reduce
from typing import Final, NoReturn, assert_never

import msgspec
from msgspec.structs import replace

from conveyor_events import (
    JobAssigned,
    JobBlocked,
    JobCancelled,
    JobCancelRequested,
    JobDeleteRequested,
    JobDependenciesSet,
    JobEdited,
    JobEvent,
    JobFailed,
    JobPauseRequested,
    JobQueued,
    JobReleased,
    JobResetRequested,
    JobResumeRequested,
    JobRetryScheduled,
    JobRolledUp,
    JobStarted,
    JobStartRequested,
    JobSubmitted,
    JobSucceeded,
    JobTaskReported,
    JobTimedOut,
    JobVerificationRecorded,
    ManifestPayload,
    Payload,
)
from conveyor_events.job_document import JobDocument, TaskState, Vote
from conveyor_events.states import LEASED, READY, TERMINAL, JobStatus

from .groups import group_progress

__all__ = [
    "INITIAL",
    "NO_CHILDREN",
    "JobState",
    "Status",
    "TaskState",
    "Vote",
    "apply",
    "evolve",
    "replay",
]

Status = JobStatus


class _NoChildren(dict[str, int]):
    """Read-only and empty: the one ``children`` map shared by every job that has no children
    (a million queued jobs would otherwise hold a million empty dicts). Changes make a new dict."""

    def _read_only(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise TypeError("the shared empty children map is read-only: build a new dict")

    __setitem__ = __delitem__ = __ior__ = _read_only
    setdefault = update = pop = popitem = clear = _read_only


NO_CHILDREN: Final[dict[str, int]] = _NoChildren()


class JobState(JobDocument, frozen=True, kw_only=True, gc=False):
    """A job as the scheduler knows it: the shared job document (``conveyor_events.job_document``,
    whose fields this adds none to) with the aggregate's rules on top.

    ``children`` defaults to the one shared empty map, not to a new dict per job.
    """

    children: dict[str, int] = msgspec.field(default_factory=lambda: NO_CHILDREN)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def is_group(self) -> bool:
        """A job without a payload: it never runs, its state follows its children's."""
        return self.payload is None and self.state != "new"

    @property
    def failures(self) -> int:
        """Attempts that did not end in a (verification) vote."""
        return self.attempts - len(self.votes)

    @property
    def retries_left(self) -> bool:
        return self.failures < self.max_retries + 1

    def voted(self, worker_id: str) -> bool:
        """Whether this worker already ran the job for its verification quorum."""
        return any(v.worker_id == worker_id for v in self.votes)


INITIAL: Final = JobState()


_OPERATOR_OVERRIDES: Final = (JobResetRequested, JobDeleteRequested, JobEdited)


def evolve(state: JobState, event: JobEvent) -> JobState:
    """Fold one event into the state.

    A terminal state absorbs every decision and worker report; only an operator's reset,
    restart, edit or delete changes it (and a parent's children counters keep following its
    children). A deleted job absorbs everything.
    """
    if state.deleted or (state.state == "new" and not isinstance(event, JobSubmitted)):
        return state
    if isinstance(event, JobRolledUp):
        return _rolled_up(state, event)
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
            if state.state not in READY:
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
        case JobTaskReported(lease_id=lease_id, task=task):
            if state.state not in LEASED or state.lease_id != lease_id:
                return state
            tasks = tuple(
                replace(t, state=task.state, exit_code=task.exit_code, updated_at=at) if t.name == task.name else t
                for t in state.tasks
            )
            return replace(state, tasks=tasks, updated_at=at)
        case JobSucceeded(lease_id=lease_id, exit_code=code, verification=verified):
            if state.lease_id != lease_id:
                return state
            return _unleased(state, "succeeded", at, exit_code=code, finished_at=at, reason="", verified=verified)
        case JobVerificationRecorded(lease_id=lease_id, worker_id=worker_id, hash=digest):
            if state.lease_id != lease_id:
                return state
            votes = (*state.votes, Vote(worker_id=worker_id, hash=digest))
            return _unleased(state, "awaiting_verification", at, votes=votes, reason="awaiting verification")
        case JobFailed(reason=reason, exit_code=code, lease_id=lease_id):
            if lease_id is not None and lease_id != state.lease_id:
                return state  # about a lease the job no longer has
            return _unleased(state, "failed", at, reason=reason, exit_code=code, finished_at=at)
        case JobRetryScheduled(reason=reason, retry_at=retry_at, exit_code=code, lease_id=lease_id):
            if lease_id is not None and lease_id != state.lease_id:
                return state
            back: Status = "awaiting_verification" if state.votes else "queued"
            return _unleased(state, back, at, reason=reason, retry_at=retry_at, exit_code=code)
        case JobReleased(lease_id=lease_id):
            if state.lease_id != lease_id:
                return state
            back = "awaiting_verification" if state.votes else "queued"
            return _unleased(state, back, at, attempts=max(0, state.attempts - 1), reason=event.reason)
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
                tasks=tuple(TaskState(name=t.name) for t in state.tasks),
                votes=(),
                verified=None,
                progress=None,
            )
        case JobEdited():
            return _edited(state, event)
        case JobDeleteRequested():
            return replace(state, deleted=True, lease_id=None, updated_at=at)
        case _:
            assert_never(event)


def _rolled_up(state: JobState, event: JobRolledUp) -> JobState:
    """Children counters always follow; a group's state and progress follow until it ends."""
    changes: dict[str, object] = {"children": dict(event.counts), "updated_at": event.occurred_at}
    if state.is_group and not state.is_terminal and event.state in _GROUP_STATES:
        changes["state"] = event.state
        changes["progress"] = group_progress(event.counts)
        changes["reason"] = event.reason
        if event.state in TERMINAL:
            changes["finished_at"] = event.occurred_at
    return replace(state, **changes)


_GROUP_STATES: Final = frozenset({"queued", "running", *TERMINAL})


def _edited(state: JobState, e: JobEdited) -> JobState:
    changes: dict[str, object] = {
        name: value
        for name in ("title", "note", "tags", "labels", "priority", "max_retries", "lease_s", "progress_pattern", "url")
        if (value := getattr(e, name)) is not None
    }
    if e.timeout_s is not None or e.clear_timeout:
        changes["timeout_s"] = e.timeout_s
    if e.payload is not None and not state.is_group:
        changes["payload"] = e.payload
        changes["tasks"] = _tasks_of(e.payload)
    return replace(state, **changes, updated_at=e.occurred_at)


def _unleased(state: JobState, new_state: Status, at: datetime, **changes: object) -> JobState:
    return replace(state, state=new_state, lease_id=None, updated_at=at, **changes)


def _tasks_of(payload: Payload | None) -> tuple[TaskState, ...]:
    if isinstance(payload, ManifestPayload):
        return tuple(TaskState(name=t.name) for t in payload.tasks)
    return ()


def _submitted(e: JobSubmitted) -> JobState:
    return JobState(
        id=e.job_id,
        state=e.initial_state,
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
        chained_from=e.chained_from,
        chain_depth=e.chain_depth,
        tasks=_tasks_of(e.payload),
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
