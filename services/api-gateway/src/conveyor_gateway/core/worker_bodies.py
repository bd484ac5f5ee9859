"""Workers' wire shapes: registration and views, and the lease protocol's asks and answers."""

from typing import Annotated, Literal

import msgspec

from conveyor_events import UtcDatetime
from conveyor_events.fields import Identifier
from conveyor_events.scheduler_api import ReportResult
from conveyor_events.states import ReportedTaskState

from .bodies import ExitCode, JobView, LeaseId, TaskName, VerificationHash

WorkerMode = Literal["active", "paused", "draining"]
WorkerStateName = Literal["offline", "paused", "draining", "busy", "idle"]


class WorkerRegistration(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/workers``: a worker's name, the labels jobs can require, and how many jobs it runs at once."""

    name: Identifier
    labels: Annotated[list[Identifier], msgspec.Meta(max_length=32)] = msgspec.field(default_factory=list)
    capacity: Annotated[int, msgspec.Meta(ge=1, le=256)] = 1


class WorkerCreated(msgspec.Struct, kw_only=True):
    """The new worker and its secret. The secret is shown only in this response."""

    id: str
    name: str
    labels: list[str]
    capacity: int
    mode: WorkerMode
    secret: str
    credentials_hint: str


class WorkerView(msgspec.Struct, kw_only=True):
    """A worker: registration, mode, and ``state`` (offline after 30 s silent, else paused/draining/busy/idle)."""

    id: str
    name: str
    labels: list[str]
    capacity: int
    mode: WorkerMode
    deleted: bool
    registered_at: UtcDatetime
    version: int
    state: WorkerStateName
    owner: str = ""  # who registered it: they (or an admin) may pause, drain or delete it; "": admins only
    last_seen_at: UtcDatetime | None = None
    load: float | None = None
    memory_free_mb: int | None = None
    memory_total_mb: int | None = None
    current_jobs: list[str] = msgspec.field(default_factory=list)
    finished_count: int = 0
    failed_count: int = 0


class WorkerPage(msgspec.Struct, kw_only=True):
    """One page of ``GET /v1/workers``, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[WorkerView]
    next_cursor: str | None


class WorkerAccepted(msgspec.Struct, kw_only=True):
    """``202``: the change is stored but the scheduler has not applied it yet; poll ``Location``."""

    id: str
    status: Literal["accepted"] = "accepted"
    detail: str = "stored; the worker will show the change at Location shortly"


class LeaseAsk(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/workers/{id}/lease``: up to ``max`` jobs, waiting up to ``wait_s`` seconds for one."""

    max: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    wait_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0


class LeaseView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A leased job. Send ``lease_id`` with start, finish and heartbeats; it fences out stale runs.

    With tracing on, ``traceparent`` (and ``tracestate``) is the W3C trace context of the job's
    assignment: the worker's run continues that trace and sends it back on its reports.
    """

    lease_id: str
    attempt: int
    lease_s: int
    job: JobView
    traceparent: str | None = None
    tracestate: str | None = None


class LeaseBatch(msgspec.Struct, kw_only=True):
    """The jobs leased; empty when none was ready within ``wait_s``."""

    leases: list[LeaseView]


class Heartbeat(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/workers/{id}/heartbeat``: the leases the worker holds (renewed) and its load."""

    leases: Annotated[list[LeaseId], msgspec.Meta(max_length=256)] = msgspec.field(default_factory=list)
    load: Annotated[float, msgspec.Meta(ge=0)] | None = None
    memory_free_mb: Annotated[int, msgspec.Meta(ge=0)] | None = None
    memory_total_mb: Annotated[int, msgspec.Meta(ge=0)] | None = None


class StopView(msgspec.Struct, kw_only=True):
    """Stop the run under ``lease_id``: ``cancelled``, ``timed_out``, ``lease_lost`` or ``worker_paused``."""

    lease_id: str
    reason: str


class HeartbeatAnswer(msgspec.Struct, kw_only=True):
    """What to stop, and how many seconds the renewed leases now last."""

    stop: list[StopView]
    lease_s: int


class NoFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The body of an action that takes no fields: omit it, or send ``{}``."""


TaskStateName = ReportedTaskState


class TaskReportBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A manifest task's new state (in ``/finish``'s ``tasks``, with its ``name``)."""

    name: TaskName
    state: TaskStateName
    exit_code: ExitCode | None = None


class TaskUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/leases/{lease_id}/tasks/{name}``: the task's new state."""

    state: TaskStateName
    exit_code: ExitCode | None = None


class RunFinish(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/leases/{lease_id}/finish``: how the run ended. ``skipped`` gives the job back unrun.

    ``started_at``: when the run began, for a run whose ``/start`` was not sent (a short run's
    start travels with its finish); the job is recorded as started then, then ended.
    """

    result: ReportResult
    exit_code: ExitCode | None = None
    verification: VerificationHash | None = None
    started_at: UtcDatetime | None = None
    tasks: Annotated[list[TaskReportBody], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class RunReported(msgspec.Struct, kw_only=True):
    """The job's state after the report."""

    state: str | None


# --- the batched report call (issue 21): POST /v1/workers/{id}/reports --------------------------

# A report's own W3C trace context: the run it belongs to, so its events continue that run's trace
# and not whichever run's context the batch request happened to carry (issue 22).
TraceParent = Annotated[
    str, msgspec.Meta(max_length=512, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[^\s]*)?$")
]
TraceState = Annotated[str, msgspec.Meta(max_length=512)]


class StartReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag="start", tag_field="type"):
    """The run under ``lease_id`` began (as ``POST /v1/leases/{lease_id}/start``).

    ``traceparent`` / ``tracestate`` (on every report, optional): the W3C trace context of the
    run; the report's events continue it (the request's own ``traceparent`` is the batch's)."""

    lease_id: LeaseId
    traceparent: TraceParent | None = None
    tracestate: TraceState | None = None


class FinishReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag="finish", tag_field="type"):
    """The run under ``lease_id`` ended (the fields of ``POST /v1/leases/{lease_id}/finish``)."""

    lease_id: LeaseId
    result: ReportResult
    exit_code: ExitCode | None = None
    verification: VerificationHash | None = None
    started_at: UtcDatetime | None = None
    tasks: Annotated[list[TaskReportBody], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    traceparent: TraceParent | None = None
    tracestate: TraceState | None = None


class TaskStateReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag="task", tag_field="type"):
    """A manifest task of the run under ``lease_id`` changed state (``POST /v1/leases/{lease_id}/tasks/{name}``)."""

    lease_id: LeaseId
    name: TaskName
    state: TaskStateName
    exit_code: ExitCode | None = None
    traceparent: TraceParent | None = None
    tracestate: TraceState | None = None


RunReport = StartReport | FinishReport | TaskStateReport


class ReportBatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/workers/{id}/reports``: several starts, task states and finishes in one call.

    Each report is fenced by its own ``lease_id`` and accepted or refused on its own; reports on
    the same lease are applied in the order given (a start, then its finish)."""

    reports: Annotated[list[RunReport], msgspec.Meta(min_length=1, max_length=100)]


class ReportRefusal(msgspec.Struct, kw_only=True):
    """Why one report was refused: the ``code`` its single call's problem would carry
    (``lease_not_current``, ``unknown_task``, ``verification_required``, ``scheduler_busy``)."""

    code: str
    detail: str


class ReportOutcome(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One report's answer: the job's state after it, or why it was refused."""

    lease_id: str
    state: str | None = None
    error: ReportRefusal | None = None


class ReportOutcomes(msgspec.Struct, kw_only=True):
    """One outcome per report, in the order of ``reports``."""

    results: list[ReportOutcome]
