"""The job aggregate: state, evolve (event -> state) and decide (command -> events). Pure."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import reduce
from typing import Final, Literal, assert_never

import msgspec
from msgspec.structs import replace

from conveyor_events import (
    JobCancelled,
    JobCancelRequested,
    JobEvent,
    JobQueued,
    JobSubmitted,
    Payload,
    UtcDatetime,
)

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
    attempts: int = 0
    progress: float | None = None
    reason: str = ""
    created_at: UtcDatetime = _EPOCH
    updated_at: UtcDatetime = _EPOCH
    submitted_seq: int = 0
    version: int = 0

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL


INITIAL: Final = JobState()


class Advance(msgspec.Struct, frozen=True, kw_only=True):
    """Decide whatever the job's state calls for now (queue it, finish a cancel, ...)."""

    job_id: str
    issued_at: UtcDatetime


Command = Advance


def decision_event_id(job_id: str, version: int, tag: str) -> str:
    """Deterministic id of a decision: the same decision on the same version has the same id.

    A scheduler that crashed after appending and decides again after restart re-sends the same
    ``Nats-Msg-Id``, which the stream deduplicates, on top of the optimistic concurrency check.
    """
    return str(uuid.uuid5(_DECISION_NS, f"{job_id}/{version}/{tag}"))


def decide(command: Command, state: JobState) -> list[JobEvent]:
    """Return the decision events the command calls for; ``[]`` when there is nothing to do."""
    match command:
        case Advance(job_id=job_id, issued_at=at):
            if state.state == "new" or state.is_terminal:
                return []
            if state.cancel_requested and state.state in ("submitted", "pending", "blocked", "queued"):
                eid = decision_event_id(job_id, state.version, "job.cancelled")
                return [JobCancelled(event_id=eid, job_id=job_id, occurred_at=at, reason=state.reason)]
            if state.state == "submitted":
                eid = decision_event_id(job_id, state.version, "job.queued")
                return [JobQueued(event_id=eid, job_id=job_id, occurred_at=at)]
            return []
        case _:
            assert_never(command)


def evolve(state: JobState, event: JobEvent) -> JobState:
    """Fold one event into the state. A terminal state absorbs every later event."""
    if state.is_terminal:
        return state
    match event:
        case JobSubmitted():
            if state.state != "new":
                return state
            return _submitted(event)
        case JobQueued():
            if state.state not in ("submitted", "pending", "blocked"):
                return state
            return replace(state, state="queued", updated_at=event.occurred_at)
        case JobCancelRequested(reason=reason):
            if state.state == "new" or state.cancel_requested:
                return state
            return replace(state, cancel_requested=True, reason=reason, updated_at=event.occurred_at)
        case JobCancelled(reason=reason):
            if state.state == "new":
                return state
            return replace(state, state="cancelled", reason=reason or state.reason, updated_at=event.occurred_at)
        case _:
            assert_never(event)


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
    return replace(new, version=seq, submitted_seq=state.submitted_seq or seq)


def replay(events: Iterable[tuple[int, JobEvent]]) -> JobState:
    """Rebuild a job from its ``(seq, event)`` history."""
    return reduce(lambda s, item: apply(s, item[1], item[0]), events, INITIAL)
