"""Conveyor's shared contract: event schemas, codec, subjects, streams and append helpers.

Nothing here does I/O at import time.
"""

from .append import AppendConflictError, Appended, AppendError, EventAppender, PendingAppend
from .codec import Event, UnknownEventError, decode_event, decode_job_event, encode_event, upcast
from .fields import UtcDatetime
from .ids import dedupe_job_id, new_uuid7, parse_uuid
from .job import (
    CommandPayload,
    JobAssigned,
    JobCancelled,
    JobCancelRequested,
    JobEvent,
    JobFailed,
    JobQueued,
    JobReleased,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    JobTimedOut,
    ManifestPayload,
    ManifestTask,
    Payload,
    RecipePayload,
)
from .streams import EVENTS_STREAM, LOGS_STREAM, ensure_streams, events_stream_config, logs_stream_config
from .subjects import (
    EVENTS_FILTER,
    LOGS_FILTER,
    job_subject,
    log_subject,
    position_subject,
    scheduler_subject,
    worker_subject,
)
from .worker import WorkerDeleted, WorkerEvent, WorkerRegistered, WorkerStateChanged

__all__ = [
    "EVENTS_FILTER",
    "EVENTS_STREAM",
    "LOGS_FILTER",
    "LOGS_STREAM",
    "AppendConflictError",
    "AppendError",
    "Appended",
    "CommandPayload",
    "Event",
    "EventAppender",
    "JobAssigned",
    "JobCancelRequested",
    "JobCancelled",
    "JobEvent",
    "JobFailed",
    "JobQueued",
    "JobReleased",
    "JobRetryScheduled",
    "JobStarted",
    "JobSubmitted",
    "JobSucceeded",
    "JobTimedOut",
    "ManifestPayload",
    "ManifestTask",
    "Payload",
    "PendingAppend",
    "RecipePayload",
    "UnknownEventError",
    "UtcDatetime",
    "WorkerDeleted",
    "WorkerEvent",
    "WorkerRegistered",
    "WorkerStateChanged",
    "decode_event",
    "decode_job_event",
    "dedupe_job_id",
    "encode_event",
    "ensure_streams",
    "events_stream_config",
    "job_subject",
    "log_subject",
    "logs_stream_config",
    "new_uuid7",
    "parse_uuid",
    "position_subject",
    "scheduler_subject",
    "upcast",
    "worker_subject",
]
