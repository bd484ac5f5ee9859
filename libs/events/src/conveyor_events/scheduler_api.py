"""Requests the gateway sends to the active scheduler over NATS, and their replies.

Leases and run reports need an answer that depends on the scheduler's current state (is this
lease still the job's lease?), so they are request/reply calls on ``conveyor.sched.<call>``
rather than request events. Errors travel as stable codes, never as text (CONVENTIONS §6).
"""

from typing import Literal

import msgspec

from .fields import UtcDatetime
from .job import TaskReport

__all__ = [
    "FinishRequest",
    "HeartbeatReply",
    "HeartbeatRequest",
    "LeaseReply",
    "LeaseRequest",
    "LeasedJob",
    "ReportBatchItem",
    "ReportBatchReply",
    "ReportBatchRequest",
    "ReportReply",
    "ReportResult",
    "StartRequest",
    "StopOrder",
    "TaskRequest",
]

ReportResult = Literal["succeeded", "failed", "skipped"]


class LeaseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A worker asks for up to ``max`` jobs, waiting up to ``wait_s`` for one to be ready.

    ``project``: only jobs of that project (task_tracker's ``/task/get/:project``).

    With ``job_id``, it asks for that job only (a claim, as the VirtShell façade's dispatchers make):
    it is leased if it is queued now and the worker may run it, else nothing is; ``max`` and
    ``wait_s`` are then ignored.
    """

    worker_id: str
    max: int = 1
    wait_s: float = 0.0
    project: str | None = None
    job_id: str | None = None


class LeasedJob(msgspec.Struct, frozen=True, kw_only=True):
    """One job handed to a worker: the lease (fencing token) and the job as the scheduler has it.

    ``traceparent`` / ``tracestate``: the W3C trace context of the assignment, when tracing is on.
    """

    lease_id: str
    job_id: str
    attempt: int
    lease_s: int
    job: msgspec.Raw
    traceparent: str | None = None
    tracestate: str | None = None


class LeaseReply(msgspec.Struct, frozen=True, kw_only=True):
    """The jobs leased (possibly none), or an error code (``unknown_worker``, ``worker_paused``)."""

    leases: tuple[LeasedJob, ...] = ()
    error: str | None = None


class HeartbeatRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A worker says it is alive and which leases it holds; those leases are renewed."""

    worker_id: str
    leases: tuple[str, ...] = ()


class StopOrder(msgspec.Struct, frozen=True, kw_only=True):
    """Stop the run under ``lease_id``; ``reason``: cancelled, timed_out, lease_lost, worker_paused."""

    lease_id: str
    reason: str


class HeartbeatReply(msgspec.Struct, frozen=True, kw_only=True):
    """What the worker must stop, and how long its leases now last."""

    stop: tuple[StopOrder, ...] = ()
    lease_s: int = 0
    error: str | None = None


class StartRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="start", tag_field="type"):
    """The worker started running the job under ``lease_id``.

    ``traceparent`` / ``tracestate`` (here and on the other reports): in a batch, the W3C trace
    context of the run the report belongs to, which its events continue; a single call's context
    travels in its NATS headers instead. Absent when the worker does not trace.
    """

    worker_id: str
    lease_id: str
    traceparent: str | None = None
    tracestate: str | None = None


class FinishRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="finish", tag_field="type"):
    """The run under ``lease_id`` ended with ``result``.

    ``started_at``: when it began, for a run whose start was not reported on its own.
    """

    worker_id: str
    lease_id: str
    result: ReportResult
    exit_code: int | None = None
    verification: str | None = None
    started_at: UtcDatetime | None = None
    traceparent: str | None = None
    tracestate: str | None = None


class TaskRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="task", tag_field="type"):
    """A manifest task of the run under ``lease_id`` changed state."""

    worker_id: str
    lease_id: str
    task: TaskReport
    traceparent: str | None = None
    tracestate: str | None = None


class ReportReply(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a run report: an error code, or the job's state after the report.

    ``error``: ``lease_not_current`` (the fencing token lost), ``unknown_worker``,
    ``unknown_task``, ``verification_required``, ... ``detail`` says in words what to fix.
    """

    state: str | None = None
    error: str | None = None
    detail: str | None = None


ReportBatchItem = StartRequest | FinishRequest | TaskRequest


class ReportBatchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Several run reports of one worker in one call (issue 21), decided in order.

    Each item is fenced by its own lease and accepted or refused on its own; every item's
    ``worker_id`` must be the batch's. Reports on one lease are applied in the order given.
    """

    worker_id: str
    items: tuple[ReportBatchItem, ...] = ()


class ReportBatchReply(msgspec.Struct, frozen=True, kw_only=True):
    """One ``ReportReply`` per item, in the items' order."""

    replies: tuple[ReportReply, ...] = ()
