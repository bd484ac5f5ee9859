"""VirtShell's status words and Conveyor's job states, both ways (pure).

VirtShell's statuses are free text in practice (seed-systems §5.1): the documented
``pending | in progress | sucess | failed``, the dispatcher's ``dispatching``, ``dispatched`` and
``error``, the agent's ``received``, ``setting up``, ``creating``... A word is kept as reported
and read as one of four kinds: pending (``pending``, ``queued``), succeeded (``success``,
``sucess``, ``succeeded``), failed (``failed``, ``error``), and running for any other word.
"""

from typing import Final, Literal

from conveyor_events.states import JobStateName

Kind = Literal["pending", "running", "succeeded", "failed"]

_KINDS: Final[dict[str, Kind]] = {
    "pending": "pending",
    "queued": "pending",
    "success": "succeeded",
    "sucess": "succeeded",  # sic: the document's spelling
    "succeeded": "succeeded",
    "failed": "failed",
    "error": "failed",
}

# What a task shows when no VirtShell client reported a word that fits its state (a native worker
# ran it, or an operator cancelled it): the document's own words.
_WORDS: Final[dict[Kind, str]] = {
    "pending": "pending",
    "running": "in progress",
    "succeeded": "sucess",
    "failed": "failed",
}


def kind_of(status: str) -> Kind:
    """The kind of a reported status word (case and surrounding spaces do not matter)."""
    return _KINDS.get(status.strip().lower(), "running")


def kind_of_state(state: JobStateName) -> Kind:
    """The kind of a Conveyor job state."""
    if state == "succeeded":
        return "succeeded"
    if state in ("failed", "timed_out", "cancelled"):
        return "failed"
    if state in ("assigned", "running"):
        return "running"
    return "pending"  # submitted, held, blocked, queued, awaiting another run's verification


def shown_status(state: JobStateName, reported: str | None) -> str:
    """The status a task shows: the last reported word while it fits the job's state, else the
    document's word for that state (a word reported before an operator cancelled the job, or a
    run expired, no longer says what the task is)."""
    kind = kind_of_state(state)
    if reported is not None and kind_of(reported) == kind:
        return reported
    return _WORDS[kind]
