"""The job document: a job as the scheduler keeps it, the JSON other services read.

The scheduler writes it to ``scheduler.jobs.doc`` (its jobs projection) and hands it to a worker
in ``LeasedJob.job`` (``scheduler_api.py``); the gateway decodes both as its public ``JobView``.
The scheduler's ``JobState`` is this struct with the aggregate's rules added, so this module is
the shape of that JSON. Evolve it as an event (CONVENTIONS §3): add fields only with defaults,
never rename one or change its type. A unit test encodes a document with every field set and
decodes it as the gateway's view.
"""

from datetime import UTC, datetime
from typing import Final

import msgspec

from .fields import UtcDatetime
from .job import Payload
from .states import JobStatus

__all__ = ["EPOCH", "JobDocument", "TaskState", "Vote"]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""The times of a document that has none yet (a job before its submission)."""


class TaskState(msgspec.Struct, frozen=True, kw_only=True):
    """A manifest task's state as its worker last reported it."""

    name: str
    state: str = "pending"
    exit_code: int | None = None
    updated_at: UtcDatetime | None = None


class Vote(msgspec.Struct, frozen=True, kw_only=True):
    """One successful run of a job that needs a verification quorum: who ran it, what it hashed."""

    worker_id: str
    hash: str


class JobDocument(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A job: its spec, where it is in its life, its current run and its version.

    ``gc=False`` (no collector header: the scheduler may hold a million): a document refers to
    strings, numbers, datetimes, tuples, its payload and counters, never back to a document, so it
    can be part of no reference cycle.

    Attributes:
        state: ``new`` only before the submission; a stored document is never ``new``.
        attempts: Runs handed to workers so far (a released run is given back).
        children: The number of this job's children in each state.
        submitted_seq: The stream sequence of the job's submission (the listing order).
        version: The stream sequence of the last event folded in.
    """

    id: str = ""
    state: JobStatus = "new"
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
    chained_from: str | None = None
    chain_depth: int = 0
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
    tasks: tuple[TaskState, ...] = ()
    votes: tuple[Vote, ...] = ()
    verified: str | None = None
    children: dict[str, int] = msgspec.field(default_factory=dict)
    created_at: UtcDatetime = EPOCH
    updated_at: UtcDatetime = EPOCH
    submitted_seq: int = 0
    version: int = 0
