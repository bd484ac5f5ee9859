"""The job as a webhook shows it: a fold of the job's events the dispatcher keeps itself, so a
payload depends only on the stream up to its event (not on another service's tables)."""

from datetime import datetime
from typing import Final

import msgspec
from msgspec.structs import replace

from conveyor_events import (
    JobAssigned,
    JobBlocked,
    JobCancelled,
    JobEdited,
    JobEvent,
    JobFailed,
    JobQueued,
    JobReleased,
    JobResetRequested,
    JobRetryScheduled,
    JobRolledUp,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    JobTimedOut,
    JobTrigger,
)
from conveyor_events.states import FAILED_EVENT_TYPES, TERMINAL_EVENT_TYPES


class JobSnapshot(msgspec.Struct, kw_only=True, frozen=True):
    """What a webhook payload says about a job."""

    id: str
    project: str
    owner: str
    title: str = ""
    tags: tuple[str, ...] = ()
    url: str | None = None
    state: str = "submitted"
    attempts: int = 0
    worker_id: str | None = None
    exit_code: int | None = None
    reason: str = ""
    submitted_at: datetime
    updated_at: datetime


def event_tag(event: msgspec.Struct) -> str:
    """The wire tag of an event (``job.succeeded``)."""
    return str(msgspec.inspect.type_info(type(event)).tag)  # type: ignore[attr-defined]  # a tagged struct


def evolve(snap: JobSnapshot | None, event: JobEvent) -> JobSnapshot | None:
    """The snapshot after ``event``; ``None`` while the job's submission is unknown."""
    if isinstance(event, JobSubmitted):
        return JobSnapshot(
            id=event.job_id,
            project=event.project,
            owner=event.owner,
            title=event.title,
            tags=event.tags,
            url=event.url,
            state=event.initial_state,
            submitted_at=event.occurred_at,
            updated_at=event.occurred_at,
        )
    if snap is None:
        return None
    snap = replace(snap, updated_at=event.occurred_at)
    match event:
        case JobQueued() | JobReleased():
            return replace(snap, state="queued", worker_id=None)
        case JobBlocked():
            return replace(snap, state="blocked")
        case JobAssigned():
            return replace(snap, state="assigned", worker_id=event.worker_id, attempts=event.attempt)
        case JobStarted():
            return replace(snap, state="running")
        case JobSucceeded():
            return replace(snap, state="succeeded", exit_code=event.exit_code, reason="")
        case JobFailed():
            return replace(snap, state="failed", exit_code=event.exit_code, reason=event.reason)
        case JobRetryScheduled():
            return replace(snap, state="queued", exit_code=event.exit_code, reason=event.reason, worker_id=None)
        case JobTimedOut():
            return replace(snap, state="timed_out", reason="timeout")
        case JobCancelled():
            return replace(snap, state="cancelled", reason=event.reason)
        case JobRolledUp():
            return replace(snap, state=event.state, reason=event.reason)
        case JobResetRequested():
            return replace(snap, attempts=0, exit_code=None, reason="")
        case JobEdited():
            return replace(
                snap,
                title=snap.title if event.title is None else event.title,
                tags=snap.tags if event.tags is None else event.tags,
                url=snap.url if event.url is None else event.url,
            )
        case _:
            return snap


def subscribed(patterns: tuple[str, ...] | list[str], tag: str) -> bool:
    """Whether a hook's ``event_types`` take ``tag``: an exact tag, ``job.*`` or ``*``."""
    return any(p in ("*", tag) or (p.endswith(".*") and tag.startswith(p[:-1])) for p in patterns)


def trigger_fires(trigger: JobTrigger, tag: str) -> bool:
    """Whether a job's trigger fires on ``tag``: only terminal events fire triggers."""
    if tag not in TERMINAL_EVENT_TYPES:
        return False
    if trigger.on == "always":
        return True
    if trigger.on == "success":
        return tag == "job.succeeded"
    return trigger.on == "failure" and tag in FAILED_EVENT_TYPES


class Payload(msgspec.Struct, kw_only=True, frozen=True):
    """The JSON body of a delivery (Standard Webhooks shape: type, timestamp, data)."""

    type: str
    timestamp: datetime
    data: dict[str, object]


_encoder: Final = msgspec.json.Encoder()


def payload_body(tag: str, occurred_at: datetime, snap: JobSnapshot, version: int, seq: int) -> bytes:
    """The bytes sent for one event: the same on every attempt and redelivery."""
    data: dict[str, object] = {"job": snap, "version": version, "stream_seq": seq}
    return _encoder.encode(Payload(type=tag, timestamp=occurred_at, data=data))
