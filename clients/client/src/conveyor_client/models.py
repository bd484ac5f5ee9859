"""The API's documents as typed msgspec structs (decoding ignores fields added later)."""

from datetime import datetime
from typing import Any, Literal

import msgspec

# A copy of conveyor_events.states (the client must not import the server), checked against it by
# tests/unit/client/test_states.py.
JobState = Literal[
    "submitted",
    "pending",
    "blocked",
    "queued",
    "awaiting_verification",
    "assigned",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
]
FINISHED_STATES: frozenset[str] = frozenset({"succeeded", "failed", "timed_out", "cancelled"})


class CommandPayload(msgspec.Struct, kw_only=True, tag_field="kind", tag="command"):
    """A shell command run in ``workdir`` with ``env`` merged over the worker's environment."""

    command: str
    workdir: str | None = None
    env: dict[str, str] = msgspec.field(default_factory=dict)


class ManifestTask(msgspec.Struct, kw_only=True):
    """One task of a manifest: a name and a shell script."""

    name: str
    script: str


class ManifestPayload(msgspec.Struct, kw_only=True, tag_field="kind", tag="manifest"):
    """A builds.sr.ht-style manifest: tasks run in order, environment, artifact patterns."""

    tasks: list[ManifestTask]
    environment: dict[str, str] = msgspec.field(default_factory=dict)
    artifacts: list[str] = msgspec.field(default_factory=list)
    image: str | None = None


class RecipePayload(msgspec.Struct, kw_only=True, tag_field="kind", tag="recipe"):
    """An opaque recipe, handed as JSON to the worker's recipe handler."""

    recipe: Any


Payload = CommandPayload | ManifestPayload | RecipePayload


class TaskState(msgspec.Struct, kw_only=True):
    """A manifest task's state: ``pending`` until its worker reports it."""

    name: str
    state: str
    exit_code: int | None = None


class Job(msgspec.Struct, kw_only=True):
    """A job as ``GET /v1/jobs/{id}`` shows it."""

    id: str
    state: str
    project: str = "default"
    owner: str = ""
    title: str = ""
    note: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    labels: list[str] = msgspec.field(default_factory=list)
    priority: int = 0
    payload: Payload | None = None
    parent_id: str | None = None
    depends_on: list[str] = msgspec.field(default_factory=list)
    max_retries: int = 3
    attempts: int = 0
    timeout_s: int | None = None
    lease_s: int = 60
    paused: bool = False
    cancel_requested: bool = False
    progress: float | None = None
    reason: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    lease_id: str | None = None
    worker_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    tasks: list[TaskState] = msgspec.field(default_factory=list)
    verified: str | None = None
    children: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def is_finished(self) -> bool:
        """Whether the job reached a final state."""
        return self.state in FINISHED_STATES


class JobPage(msgspec.Struct, kw_only=True):
    """One page of jobs; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[Job]
    next_cursor: str | None = None


class Accepted(msgspec.Struct, kw_only=True):
    """``202``: stored, not yet visible."""

    id: str
    status: str = "accepted"


class ExplainReason(msgspec.Struct, kw_only=True):
    """One reason a job is where it is."""

    code: str
    detail: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Explanation(msgspec.Struct, kw_only=True):
    """Why a job is not running, most important reason first."""

    job_id: str
    state: str
    summary: str
    reasons: list[ExplainReason]


class Worker(msgspec.Struct, kw_only=True):
    """A worker as ``GET /v1/workers/{id}`` shows it."""

    id: str
    name: str
    labels: list[str] = msgspec.field(default_factory=list)
    capacity: int = 1
    mode: str = "active"
    state: str = "idle"
    deleted: bool = False
    registered_at: datetime | None = None
    last_seen_at: datetime | None = None
    load: float | None = None
    memory_free_mb: int | None = None
    memory_total_mb: int | None = None
    current_jobs: list[str] = msgspec.field(default_factory=list)
    finished_count: int = 0
    failed_count: int = 0


class WorkerPage(msgspec.Struct, kw_only=True):
    """One page of workers."""

    items: list[Worker]
    next_cursor: str | None = None


class WorkerCredentials(msgspec.Struct, kw_only=True):
    """A registered worker's id and secret (the secret is shown only at registration)."""

    id: str
    secret: str
    name: str = ""


class Lease(msgspec.Struct, kw_only=True):
    """A leased job; ``lease_id`` fences every report about this run.

    ``traceparent`` / ``tracestate``: the W3C trace context of the assignment (tracing on).
    """

    lease_id: str
    attempt: int
    lease_s: int
    job: Job
    traceparent: str | None = None
    tracestate: str | None = None


class LeaseBatch(msgspec.Struct, kw_only=True):
    """The jobs leased by one call."""

    leases: list[Lease]


class StopOrder(msgspec.Struct, kw_only=True):
    """Stop the run under ``lease_id`` (``cancelled``, ``timed_out``, ``lease_lost``, ``worker_paused``...)."""

    lease_id: str
    reason: str


class HeartbeatAnswer(msgspec.Struct, kw_only=True):
    """The heartbeat's answer: runs to stop, and how long the renewed leases last."""

    stop: list[StopOrder]
    lease_s: int = 60


class RunReported(msgspec.Struct, kw_only=True):
    """The job's state after a start, task or finish report."""

    state: str | None = None


class ReportRefusal(msgspec.Struct, kw_only=True):
    """Why one report of a batch was refused: the code its single call's problem would carry."""

    code: str
    detail: str = ""


class ReportOutcome(msgspec.Struct, kw_only=True):
    """One report's answer in ``WorkerApi.report``: the job's state after it, or a refusal."""

    lease_id: str
    state: str | None = None
    error: ReportRefusal | None = None


class ReportOutcomes(msgspec.Struct, kw_only=True):
    """One outcome per report, in order."""

    results: list[ReportOutcome]


class TaskResult(msgspec.Struct, kw_only=True):
    """A manifest task's end, sent with ``finish``."""

    name: str
    state: Literal["succeeded", "failed", "skipped"]
    exit_code: int | None = None


class ArtifactStored(msgspec.Struct, kw_only=True):
    """An uploaded artifact."""

    path: str
    size: int = 0
    sha256: str = ""


class LogText(msgspec.Struct, kw_only=True):
    """New log text starting at byte ``offset``."""

    offset: int
    text: str


class LogEnd(msgspec.Struct, kw_only=True):
    """The job ended and its log is complete: its final state and the log's size."""

    state: str
    size: int = 0
    truncated: bool = False


class Hook(msgspec.Struct, kw_only=True):
    """A webhook as ``GET /v1/hooks/{id}`` shows it; ``secret`` only when it was just created."""

    id: str
    url: str
    events: list[str]
    owner: str = ""
    project: str | None = None
    description: str = ""
    active: bool = True
    consecutive_failures: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    secret: str | None = None


class HookPage(msgspec.Struct, kw_only=True):
    """The hooks the caller may manage."""

    items: list[Hook]


class DeliveryAttempt(msgspec.Struct, kw_only=True):
    """One attempt of a webhook delivery."""

    attempt: int
    attempted_at: datetime
    status: int | None = None
    latency_ms: float = 0.0
    error: str = ""
    response: str = ""


class Delivery(msgspec.Struct, kw_only=True):
    """A webhook delivery (its id is the ``webhook-id`` header) and its attempts."""

    id: str
    event_type: str
    status: str
    job_id: str | None = None
    stream_seq: int = 0
    attempts: list[DeliveryAttempt] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    next_attempt_at: datetime | None = None


class DeliveryPage(msgspec.Struct, kw_only=True):
    """One page of a hook's deliveries, newest first."""

    items: list[Delivery]
    next_cursor: str | None = None


class Redelivery(msgspec.Struct, kw_only=True):
    """A past delivery queued to be sent again."""

    id: str
    status: str


class Project(msgspec.Struct, kw_only=True):
    """A project as ``GET /v1/projects/{name}`` shows it; the secrets only to holders of the ``secret`` role."""

    id: str
    name: str
    owner: str
    priority: int = 0
    visibility: str = "private"
    paused: bool = False
    motd: str = ""
    version: str = ""
    clone_url: str = ""
    chain_target: str = ""
    submit_rate: float = 0.0
    submit_burst: int = 0
    assign_rate: float = 0.0
    assign_burst: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    your_roles: list[str] = msgspec.field(default_factory=list)
    secret: str | None = None
    webhook_secret: str | None = None


class ProjectPage(msgspec.Struct, kw_only=True):
    """``GET /v1/projects``: the projects the caller may see, by name."""

    items: list[Project]


class Token(msgspec.Struct, kw_only=True):
    """One of the caller's API tokens as listed (never the token itself)."""

    id: str
    user_id: str
    name: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenPage(msgspec.Struct, kw_only=True):
    """``GET /v1/tokens``: the caller's tokens, newest first."""

    items: list[Token]


class IssuedToken(msgspec.Struct, kw_only=True):
    """A new token: ``token`` is shown only here."""

    id: str
    user_id: str
    name: str
    scopes: list[str]
    token: str
    expires_at: datetime | None = None
