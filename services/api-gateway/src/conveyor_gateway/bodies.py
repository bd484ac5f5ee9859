"""Request and response bodies of the native API. The OpenAPI document is generated from these."""

from typing import Annotated, Any, Final, Literal

import msgspec

from conveyor_events import UtcDatetime
from conveyor_events.fields import Identifier, JobId, Tag

JOB_STATES: Final = (
    "submitted",
    "pending",
    "blocked",
    "queued",
    "assigned",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
)
JobStateName = Literal[
    "submitted",
    "pending",
    "blocked",
    "queued",
    "assigned",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
]

EnvName = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
EnvValue = Annotated[str, msgspec.Meta(max_length=32_768)]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
Command = Annotated[str, msgspec.Meta(min_length=1, max_length=65_536)]
Path = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class ManifestTaskBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A manifest task: a name and the shell script it runs."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    script: Annotated[str, msgspec.Meta(max_length=262_144)]


class ManifestBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A builds.sr.ht-style manifest: tasks run in order, environment, artifact patterns."""

    tasks: Annotated[list[ManifestTaskBody], msgspec.Meta(min_length=1, max_length=100)]
    environment: Annotated[dict[EnvName, EnvValue], msgspec.Meta(max_length=256)] = msgspec.field(default_factory=dict)
    artifacts: Annotated[list[Path], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    image: ShortText | None = None


class JobSubmission(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/jobs``: what to run and how. Exactly one of ``command``, ``manifest``, ``recipe``."""

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


class JobPage(msgspec.Struct, kw_only=True):
    """One page of ``GET /v1/jobs``; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[JobView]
    next_cursor: str | None


class JobAccepted(msgspec.Struct, kw_only=True):
    """``202``: the write is stored but not yet visible; poll ``Location``."""

    id: str
    status: Literal["accepted"] = "accepted"
    detail: str = "stored; the job will be readable at Location shortly"


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
