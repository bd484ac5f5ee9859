"""Request and response bodies of the native API. The OpenAPI document is generated from these."""

from typing import Annotated, Any, Final, Literal

import msgspec

from conveyor_events import UtcDatetime
from conveyor_events.fields import Identifier, JobId, Tag
from conveyor_events.scheduler_api import ReportResult
from conveyor_events.states import JobStateName, ReportedTaskState

EnvName = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
EnvValue = Annotated[str, msgspec.Meta(max_length=32_768)]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
ExitCode = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
LeaseId = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
]
Command = Annotated[str, msgspec.Meta(min_length=1, max_length=65_536)]
Path = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


TaskName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
VerificationHash = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ManifestTaskBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A manifest task: a name and the shell script it runs."""

    name: TaskName
    script: Annotated[str, msgspec.Meta(max_length=262_144)]


class ManifestBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A builds.sr.ht-style manifest: tasks run in order, environment, artifact patterns."""

    tasks: Annotated[list[ManifestTaskBody], msgspec.Meta(min_length=1, max_length=100)]
    environment: Annotated[dict[EnvName, EnvValue], msgspec.Meta(max_length=256)] = msgspec.field(default_factory=dict)
    artifacts: Annotated[list[Path], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    image: ShortText | None = None


Grantee = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
]
ReadGrantee = Annotated[
    str, msgspec.Meta(pattern=r"^(\*|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
]


class TriggerSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A webhook the job sends when it ends (builds.sr.ht triggers): ``on`` ``always``, ``success``
    or ``failure`` (failed, timed_out or cancelled). With ``secret`` (``whsec_<base64>``) it is
    signed per Standard Webhooks; without, it carries ``webhook-id`` and ``webhook-timestamp`` only."""

    on: Literal["always", "success", "failure"]
    url: Annotated[str, msgspec.Meta(max_length=2048, pattern=r"^https?://[^\s/?#@]+[^\s]*$")]
    secret: Annotated[str, msgspec.Meta(max_length=200, pattern=r"^(whsec_[A-Za-z0-9+/=]{16,})?$")] = ""


class JobSubmission(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/jobs``: what to run and how. Exactly one of ``command``, ``manifest``, ``recipe``,
    or ``group: true`` for a job that runs nothing and whose state follows its children's."""

    project: Identifier = "default"
    title: ShortText = ""
    note: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    tags: Annotated[list[Tag], msgspec.Meta(max_length=32)] = msgspec.field(default_factory=list)
    labels: Annotated[list[Identifier], msgspec.Meta(max_length=32)] = msgspec.field(default_factory=list)
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] = 0
    command: Command | None = None
    workdir: Path | None = None
    env: Annotated[dict[EnvName, EnvValue], msgspec.Meta(max_length=256)] = msgspec.field(default_factory=dict)
    manifest: ManifestBody | None = None
    # msgspec cannot put Raw in a union with None: an empty Raw means "not given".
    recipe: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    parent: JobId | None = None
    depends_on: Annotated[list[JobId], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=100)] = 3
    timeout_s: Annotated[int, msgspec.Meta(ge=1, le=30 * 86_400)] | None = None
    lease_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 60
    dedupe_key: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    execute: bool = True
    progress_pattern: ShortText | None = None
    url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    verification: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    # Access lists (issue 7): user ids, and "*" in read_access for anyone with jobs:read.
    read_access: Annotated[list[ReadGrantee], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=list)
    write_access: Annotated[list[Grantee], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=list)
    group: bool = False
    triggers: Annotated[list[TriggerSpec], msgspec.Meta(max_length=16)] = msgspec.field(default_factory=list)


class JobEdit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /v1/jobs/{id}``: the fields to change (absent ones stay). A payload is replaced by
    giving one of ``command`` (with ``workdir``, ``env``), ``manifest`` or ``recipe``.
    ``timeout_s: null`` removes the timeout."""

    title: ShortText | None = None
    note: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=32)] | None = None
    labels: Annotated[list[Identifier], msgspec.Meta(max_length=32)] | None = None
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] | None = None
    command: Command | None = None
    workdir: Path | None = None
    env: Annotated[dict[EnvName, EnvValue], msgspec.Meta(max_length=256)] | None = None
    manifest: ManifestBody | None = None
    recipe: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    timeout_s: Annotated[int, msgspec.Meta(ge=1, le=30 * 86_400)] | msgspec.UnsetType | None = msgspec.UNSET
    lease_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] | None = None
    progress_pattern: ShortText | None = None
    url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class TaskView(msgspec.Struct, kw_only=True):
    """A manifest task's state: ``pending`` until its worker reports it."""

    name: str
    state: str
    exit_code: int | None = None
    updated_at: UtcDatetime | None = None


class VoteView(msgspec.Struct, kw_only=True):
    """One run counted towards a verification quorum."""

    worker_id: str
    hash: str


class CommandView(msgspec.Struct, kw_only=True, tag_field="kind", tag="command"):
    command: str
    workdir: str | None = None
    env: dict[str, str] = msgspec.field(default_factory=dict)


class ManifestTaskView(msgspec.Struct, kw_only=True):
    name: str
    script: str


class ManifestView(msgspec.Struct, kw_only=True, tag_field="kind", tag="manifest"):
    tasks: list[ManifestTaskView]
    environment: dict[str, str] = msgspec.field(default_factory=dict)
    artifacts: list[str] = msgspec.field(default_factory=list)
    image: str | None = None


class RecipeView(msgspec.Struct, kw_only=True, tag_field="kind", tag="recipe"):
    recipe: Any


class JobView(msgspec.Struct, kw_only=True):
    """A job as the API shows it (read from the scheduler's projection)."""

    id: str
    state: JobStateName
    project: str
    owner: str
    title: str
    note: str
    tags: list[str]
    labels: list[str]
    priority: int
    payload: CommandView | ManifestView | RecipeView | None
    parent_id: str | None
    depends_on: list[str]
    max_retries: int
    attempts: int
    timeout_s: int | None
    lease_s: int
    dedupe_key: str | None
    execute: bool
    paused: bool
    cancel_requested: bool
    progress: float | None
    progress_pattern: str | None
    url: str | None
    verification: int
    reason: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int
    # Run fields, added with workers: defaults keep documents written before them decodable.
    lease_id: str | None = None
    worker_id: str | None = None
    retry_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    exit_code: int | None = None
    tasks: list[TaskView] = msgspec.field(default_factory=list)
    votes: list[VoteView] = msgspec.field(default_factory=list)
    verified: str | None = None
    children: dict[str, int] = msgspec.field(default_factory=dict)
    chained_from: str | None = None


class JobPage(msgspec.Struct, kw_only=True):
    """One page of ``GET /v1/jobs``; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[JobView]
    next_cursor: str | None


class JobAccepted(msgspec.Struct, kw_only=True):
    """``202``: the write is stored but not yet visible; poll ``Location``."""

    id: str
    status: Literal["accepted"] = "accepted"
    detail: str = "stored; the job will be readable at Location shortly"


class CancelRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/jobs/{id}/cancel`` (the body is optional)."""

    reason: ShortText = ""


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid part of a request: a JSON pointer into the body (or the parameter name)."""

    pointer: str
    detail: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    expected_offset: int | None = None  # log_gap: where the next chunk must start


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


class LeaseView(msgspec.Struct, kw_only=True):
    """A leased job. Send ``lease_id`` with start, finish and heartbeats; it fences out stale runs."""

    lease_id: str
    attempt: int
    lease_s: int
    job: JobView


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


BULK_MAX_JOBS: Final = 1000


class JobBatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/jobs/bulk``: 1 to 1000 jobs, validated as a whole: all are stored, or none."""

    jobs: Annotated[list[JobSubmission], msgspec.Meta(min_length=1, max_length=BULK_MAX_JOBS)]


class BulkItem(msgspec.Struct, kw_only=True):
    """One job of a bulk submission, in the order given: ``existing`` when its dedupe key was used before."""

    id: str
    status: Literal["created", "existing"]


class BulkResult(msgspec.Struct, kw_only=True):
    """The jobs of a bulk submission, in the order given."""

    jobs: list[BulkItem]
    count: int


ReasonCode = Literal[
    "finished",
    "running",
    "assigned",
    "submitted",
    "held",
    "blocked",
    "paused",
    "cancel_requested",
    "retry_backoff",
    "waiting_on_dependencies",
    "no_matching_worker",
    "workers_busy",
    "behind_higher_priority",
    "ready",
    "group",
    "awaiting_verification",
    "project_paused",
    "rate_limited",
    "no_worker_access",
]


class ExplainReason(msgspec.Struct, kw_only=True):
    """One reason a job is where it is: a stable ``code``, a sentence, and the figures behind it."""

    code: ReasonCode
    detail: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class JobExplanation(msgspec.Struct, kw_only=True):
    """``GET /v1/jobs/{id}/explain``: why the job is not running (or how it ended), most important reason first."""

    job_id: str
    state: JobStateName
    summary: str
    reasons: list[ExplainReason]
