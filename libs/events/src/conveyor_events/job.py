"""Events of the job aggregate (subject ``conveyor.ev.job.<job_id>``).

Request events come from the gateway (what a client asked); decision events come from the
scheduler (what the system decided). Fields are deliberately loose (plain ``str``, no bounds):
the gateway validates input, and an event that was valid once must decode forever.
"""

from typing import Literal

import msgspec

from .fields import UtcDatetime

__all__ = [
    "BuildsTrigger",
    "CommandPayload",
    "JobAssigned",
    "JobBlocked",
    "JobCancelRequested",
    "JobCancelled",
    "JobDeleteRequested",
    "JobDependenciesSet",
    "JobEdited",
    "JobEvent",
    "JobEventBase",
    "JobFailed",
    "JobPauseRequested",
    "JobQueued",
    "JobReleased",
    "JobResetRequested",
    "JobResumeRequested",
    "JobRetryScheduled",
    "JobRolledUp",
    "JobStartRequested",
    "JobStarted",
    "JobSubmitted",
    "JobSucceeded",
    "JobTaskReported",
    "JobTimedOut",
    "JobTrigger",
    "JobVerificationRecorded",
    "ManifestPayload",
    "ManifestTask",
    "Payload",
    "RecipePayload",
    "TaskReport",
]


class CommandPayload(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="command"):
    """A shell command run by ``sh -c`` in ``workdir`` with ``env`` merged over the worker's."""

    command: str
    workdir: str | None = None
    env: dict[str, str] = msgspec.field(default_factory=dict)


class ManifestTask(msgspec.Struct, frozen=True, kw_only=True):
    """One named step of a manifest job, run in order."""

    name: str
    script: str


class ManifestPayload(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="manifest"):
    """A builds.sr.ht-style manifest: environment, ordered tasks and artifact patterns."""

    tasks: tuple[ManifestTask, ...]
    environment: dict[str, str] = msgspec.field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    image: str | None = None


class RecipePayload(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", tag="recipe"):
    """An opaque recipe handed to a worker-side handler program, kept byte for byte."""

    recipe: msgspec.Raw


Payload = CommandPayload | ManifestPayload | RecipePayload


class BuildsTrigger(msgspec.Struct, frozen=True, kw_only=True):
    """A trigger in builds.sr.ht's own words (issue 17), sent as sourcehut sends it.

    Attributes:
        action: ``webhook`` (sourcehut's job JSON, signed with the instance's Ed25519 key) or
            ``email`` (through the SMTP server the operator configures).
        origin: The builds.sr.ht façade's address, ending in ``/``: log URLs are built on it.
        owner_name: The job owner's user name (``~name`` in the payload).
        note: The job's note.
        to: The email's recipients.
        cc: The email's copy recipients.
        in_reply_to: The email's ``In-Reply-To``.
        jobs: For a job group's trigger, the numbers of its builds (the jobs it depends on, in
            order): it fires once all of them ended, not when the group's own job does.
    """

    action: str
    origin: str
    owner_name: str
    note: str = ""
    to: str = ""
    cc: str = ""
    in_reply_to: str = ""
    jobs: tuple[int, ...] = ()


class JobTrigger(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook the job itself asks for when it ends, as builds.sr.ht manifests do.

    ``on``: ``always``, ``success`` or ``failure`` (failed, timed_out or cancelled). ``secret``
    (``whsec_<base64>``), when given, signs the delivery; without it the request is unsigned.
    ``builds``, when given, makes it a builds.sr.ht trigger (its payload, signature or email).
    """

    on: str
    url: str
    secret: str = ""
    builds: BuildsTrigger | None = None


class JobEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every job event carries."""

    event_id: str
    job_id: str
    occurred_at: UtcDatetime


class JobSubmitted(JobEventBase, frozen=True, kw_only=True, tag="job.submitted"):
    """A client asked for a job to be run (request event; always the job's first event)."""

    project: str
    owner: str
    payload: Payload | None  # None: a group, whose state derives from its children
    title: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    priority: int = 0
    parent_id: str | None = None
    depends_on: tuple[str, ...] = ()
    max_retries: int = 3
    timeout_s: int | None = None
    lease_s: int = 60
    dedupe_key: str | None = None
    execute: bool = True
    progress_pattern: str | None = None
    url: str | None = None
    verification: int = 1
    chained_from: str | None = None  # the job whose success submitted this copy (project chaining)
    chain_depth: int = 0  # how many chain links led here (a loop of chain targets stops)
    triggers: tuple[JobTrigger, ...] = ()  # read by the hook dispatcher only

    @property
    def initial_state(self) -> Literal["pending", "submitted", "queued"]:
        """The state the submission alone puts the job in.

        A job with nothing to wait on (it runs now, has a payload, no dependencies) is queued by
        its submission: no scheduler decision stands between it and a worker, which saves an
        event, a fold and an append per job. ``submitted`` leaves the decision to the scheduler
        (dependencies to check, a group's children to follow); ``pending`` is held.
        """
        if not self.execute:
            return "pending"
        if self.payload is None or self.depends_on:
            return "submitted"
        return "queued"


class JobQueued(JobEventBase, frozen=True, kw_only=True, tag="job.queued"):
    """The scheduler made the job eligible to run (decision event).

    It follows the job's dependencies, a hold or a reset. A job with nothing to wait on is queued
    by its ``JobSubmitted`` alone.
    """

    reason: str = ""


class JobCancelRequested(JobEventBase, frozen=True, kw_only=True, tag="job.cancel_requested"):
    """A client asked for the job to be cancelled (request event)."""

    reason: str = ""
    requested_by: str = ""


class JobCancelled(JobEventBase, frozen=True, kw_only=True, tag="job.cancelled"):
    """The scheduler cancelled the job; terminal (decision event)."""

    reason: str = ""


class JobAssigned(JobEventBase, frozen=True, kw_only=True, tag="job.assigned"):
    """The scheduler leased the job to a worker (decision). ``lease_id`` is the fencing token."""

    lease_id: str
    worker_id: str
    attempt: int
    lease_s: int


class JobStarted(JobEventBase, frozen=True, kw_only=True, tag="job.started"):
    """The worker holding the current lease started the run (decision)."""

    lease_id: str


class JobSucceeded(JobEventBase, frozen=True, kw_only=True, tag="job.succeeded"):
    """The run succeeded; terminal (decision)."""

    lease_id: str
    exit_code: int | None = None
    verification: str | None = None  # the agreed hash of a verified job


class JobFailed(JobEventBase, frozen=True, kw_only=True, tag="job.failed"):
    """The job failed for good: out of retries, or not retryable; terminal (decision)."""

    reason: str
    lease_id: str | None = None
    exit_code: int | None = None


class JobRetryScheduled(JobEventBase, frozen=True, kw_only=True, tag="job.retry_scheduled"):
    """An attempt ended without success and the job goes back to the queue at ``retry_at``."""

    reason: str
    retry_at: UtcDatetime
    lease_id: str | None = None
    exit_code: int | None = None


class JobReleased(JobEventBase, frozen=True, kw_only=True, tag="job.released"):
    """The worker gave the job back unrun: result ``skipped``, or it shut down (decision).

    The attempt does not count and the job is queued again at once.
    """

    lease_id: str
    reason: str = ""


class JobTimedOut(JobEventBase, frozen=True, kw_only=True, tag="job.timed_out"):
    """The run went past the job's timeout; terminal, and the worker is told to stop (decision)."""

    lease_id: str


class JobBlocked(JobEventBase, frozen=True, kw_only=True, tag="job.blocked"):
    """The job waits for its dependencies to succeed (decision)."""

    waiting_on: tuple[str, ...] = ()


class JobDependenciesSet(JobEventBase, frozen=True, kw_only=True, tag="job.dependencies_set"):
    """An operator replaced the job's dependencies before it ran (request event)."""

    depends_on: tuple[str, ...] = ()
    requested_by: str = ""


class JobPauseRequested(JobEventBase, frozen=True, kw_only=True, tag="job.pause_requested"):
    """An operator paused the job: it is not handed out, and a running one is stopped (request)."""

    requested_by: str = ""


class JobResumeRequested(JobEventBase, frozen=True, kw_only=True, tag="job.resume_requested"):
    """An operator lifted the pause (request event)."""

    requested_by: str = ""


class JobStartRequested(JobEventBase, frozen=True, kw_only=True, tag="job.start_requested"):
    """Start a job held with ``execute=false`` (request event)."""

    requested_by: str = ""


class JobResetRequested(JobEventBase, frozen=True, kw_only=True, tag="job.reset_requested"):
    """Run the job again from scratch: counters cleared, any live run stopped (request event).

    ``restart`` records which command asked (restart: of a finished job; reset: of any job).
    """

    restart: bool = False
    requested_by: str = ""


class JobDeleteRequested(JobEventBase, frozen=True, kw_only=True, tag="job.delete_requested"):
    """Remove the job from every view; a live run is stopped. Its events stay (request event)."""

    requested_by: str = ""


class TaskReport(msgspec.Struct, frozen=True, kw_only=True):
    """A task's state as a worker reports it."""

    name: str
    state: str  # running, succeeded, failed, skipped
    exit_code: int | None = None


class JobTaskReported(JobEventBase, frozen=True, kw_only=True, tag="job.task_reported"):
    """The lease holder reported a manifest task's state (decision, fenced by the lease)."""

    lease_id: str
    task: TaskReport


class JobVerificationRecorded(JobEventBase, frozen=True, kw_only=True, tag="job.verification_recorded"):
    """A run of a job needing a verification quorum succeeded with ``hash`` (decision).

    The quorum is not reached yet, so the job waits for a run by another worker.
    """

    lease_id: str
    worker_id: str
    hash: str


class JobRolledUp(JobEventBase, frozen=True, kw_only=True, tag="job.rolled_up"):
    """A group's state, derived from its children's, changed (decision)."""

    state: str
    counts: dict[str, int] = msgspec.field(default_factory=dict)  # children by state
    reason: str = ""


class JobEdited(JobEventBase, frozen=True, kw_only=True, tag="job.edited"):
    """An operator changed fields of the job's spec (request event).

    Unset fields stay as they were. A change applies to runs that start after it: restart a
    finished job to run it again.
    """

    title: str | None = None
    note: str | None = None
    tags: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    priority: int | None = None
    payload: Payload | None = None
    max_retries: int | None = None
    timeout_s: int | None = None
    clear_timeout: bool = False
    lease_s: int | None = None
    progress_pattern: str | None = None
    url: str | None = None
    requested_by: str = ""


JobEvent = (
    JobSubmitted
    | JobQueued
    | JobCancelRequested
    | JobCancelled
    | JobAssigned
    | JobStarted
    | JobSucceeded
    | JobFailed
    | JobRetryScheduled
    | JobReleased
    | JobTimedOut
    | JobPauseRequested
    | JobResumeRequested
    | JobStartRequested
    | JobResetRequested
    | JobDeleteRequested
    | JobBlocked
    | JobDependenciesSet
    | JobTaskReported
    | JobVerificationRecorded
    | JobRolledUp
    | JobEdited
)
"""Every event of the job aggregate. Add new members here and a golden sample per tag."""
