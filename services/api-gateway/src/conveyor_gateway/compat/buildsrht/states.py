"""builds.sr.ht's status words and Conveyor's, both ways (pure).

A job: pending, queued, running, success, failed, timeout, cancelled. A task: pending, running,
success, failed, skipped. Conveyor's transient states fold into the nearest sourcehut word.
"""

from typing import Final

JOB_STATUS: Final[dict[str, str]] = {
    "submitted": "queued",
    "pending": "pending",
    "blocked": "queued",
    "queued": "queued",
    "awaiting_verification": "queued",
    "assigned": "running",
    "running": "running",
    "succeeded": "success",
    "failed": "failed",
    "timed_out": "timeout",
    "cancelled": "cancelled",
}

TASK_STATUS: Final[dict[str, str]] = {
    "pending": "pending",
    "running": "running",
    "succeeded": "success",
    "failed": "failed",
    "skipped": "skipped",
}

# sourcehut word -> the Conveyor states it stands for (a filter on a list)
CONVEYOR_STATES: Final[dict[str, tuple[str, ...]]] = {
    word: tuple(state for state, mapped in JOB_STATUS.items() if mapped == word) for word in set(JOB_STATUS.values())
}

TERMINAL_WORDS: Final = frozenset({"success", "failed", "timeout", "cancelled"})


def job_status(state: str) -> str:
    """The sourcehut word for a Conveyor job state."""
    return JOB_STATUS.get(state, "queued")


def task_status(state: str, job_state: str = "succeeded") -> str:
    """The sourcehut word for a Conveyor task state: a task skipped because an earlier one failed
    (or the build was stopped) stays ``pending`` as sourcehut shows it; ``skipped`` is only for a
    build ended early by ``complete-build``, which succeeds."""
    if state == "skipped" and job_state != "succeeded":
        return "pending"
    return TASK_STATUS.get(state, "pending")
