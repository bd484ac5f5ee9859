"""The job-state vocabulary: the names a job's state takes and the sets services reason with.

Declared once here (CONVENTIONS §2, "one home for a vocabulary") and imported by the scheduler,
the gateway and the hook dispatcher. ``conveyor_client`` must not import the server, so it keeps
its own copy, which a test checks against this module.
"""

from typing import Final, Literal, get_args

__all__ = [
    "DEPENDENCY_FAILED",
    "FAILED",
    "FAILED_EVENT_TYPES",
    "JOB_STATES",
    "LEASED",
    "RAN",
    "READY",
    "TASK_STATES",
    "TERMINAL",
    "TERMINAL_EVENT_TYPES",
    "JobStateName",
    "JobStatus",
    "ReportedTaskState",
    "TaskStateName",
]

JobStateName = Literal[
    "submitted",  # transient: accepted, the scheduler has not decided yet
    "pending",  # held (execute=false) until started
    "blocked",  # waiting for its dependencies to succeed
    "queued",
    "awaiting_verification",  # a run agreed with too few others: waits for another worker's run
    "assigned",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
]
"""Every state a job the API shows can be in."""

JobStatus = Literal["new"] | JobStateName
"""A job's state inside the scheduler: ``new`` (no event yet, the job does not exist) or a public state."""

JOB_STATES: Final[tuple[JobStateName, ...]] = get_args(JobStateName)
"""The public state names, in the order of a job's life."""

TERMINAL: Final[frozenset[JobStateName]] = frozenset({"succeeded", "failed", "timed_out", "cancelled"})
"""The states a job ends in: they absorb every decision and report (only an operator's reset,
restart, edit or delete changes them)."""

FAILED: Final[frozenset[JobStateName]] = TERMINAL - {"succeeded"}
"""The terminal states that are not a success (a trigger's ``failure``)."""

LEASED: Final[frozenset[JobStateName]] = frozenset({"assigned", "running"})
"""The states in which a worker holds the job's lease."""

READY: Final[frozenset[JobStateName]] = frozenset({"queued", "awaiting_verification"})
"""The states in which a worker may be handed the job."""

RAN: Final[frozenset[JobStateName]] = LEASED | TERMINAL
"""The states of a job that was handed to a worker at least once, or ended."""

DEPENDENCY_FAILED: Final[frozenset[str]] = frozenset({*FAILED, "deleted", "unknown"})
"""What a dependency may be that fails its dependents without running them: a failed terminal
state, or ``deleted`` / ``unknown`` (not job states: a dependency that no longer exists or never did)."""

TERMINAL_EVENT_TYPES: Final[frozenset[str]] = frozenset(f"job.{state}" for state in TERMINAL)
"""The wire tags of the events that end a job (``job.succeeded``, ...)."""

FAILED_EVENT_TYPES: Final[frozenset[str]] = frozenset(f"job.{state}" for state in FAILED)
"""The wire tags of the events that end a job without success."""

ReportedTaskState = Literal["running", "succeeded", "failed", "skipped"]
"""A state a worker may report a manifest task in."""

TaskStateName = Literal["pending"] | ReportedTaskState
"""A manifest task's state: ``pending`` until its worker reports one."""

TASK_STATES: Final[frozenset[TaskStateName]] = frozenset({"pending", *get_args(ReportedTaskState)})
"""Every state a manifest task can be in."""
