"""Operator commands on a job, as use cases: pause, resume, start (a held job), reset, restart,
cancel and delete.

Each checks the job's state, appends a request event for the job and the descendants it applies
to (``trees``), and waits until the scheduler has seen it (read-your-writes); the scheduler
decides what follows (a paused or reset job's live run is released and its worker told to stop at
the next heartbeat). ``by`` is who asked: the requester recorded on the events.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Final, Literal

from msgspec.structs import replace

from conveyor_events import (
    JobCancelRequested,
    JobDeleteRequested,
    JobEvent,
    JobPauseRequested,
    JobResetRequested,
    JobResumeRequested,
    JobStartRequested,
    new_uuid7,
)
from conveyor_events.states import TERMINAL

from ..errors import JobFinishedError, JobNotFinishedError, JobNotHeldError
from .bodies import JobView
from .context import State
from .reads import existing_job, read_after, wait_applied
from .token_auth import ANONYMOUS
from .trees import append_to_tree

CommandName = Literal["pause", "resume", "start", "reset", "restart"]

Check = Callable[[JobView], None]
Build = Callable[[str, datetime], JobEvent]
Applies = Callable[[str], bool]  # does the command apply to a descendant in this state?


def _not_finished(job: JobView) -> None:
    if job.state in TERMINAL:
        raise JobFinishedError(f"job {job.id} is already {job.state}")


def _held(job: JobView) -> None:
    if job.state != "pending":
        raise JobNotHeldError(f"job {job.id} is {job.state}, not held (pending)")


def _finished(job: JobView) -> None:
    if job.state not in TERMINAL:
        raise JobNotFinishedError(f"job {job.id} is {job.state}; use reset for a job in flight")


def _anything(job: JobView) -> None:
    del job


def _live(state: str) -> bool:
    return state not in TERMINAL


def _any(state: str) -> bool:
    del state
    return True


def _only_the_job(state: str) -> bool:
    del state
    return False


# name -> (check on the job, the event, which descendants it also applies to)
_COMMANDS: Final[dict[CommandName, tuple[Check, Build, Applies]]] = {
    "pause": (_not_finished, lambda j, at: JobPauseRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                             requested_by=ANONYMOUS), _live),
    "resume": (_not_finished, lambda j, at: JobResumeRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                               requested_by=ANONYMOUS), _live),
    "start": (_held, lambda j, at: JobStartRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                     requested_by=ANONYMOUS), _only_the_job),
    "reset": (_anything, lambda j, at: JobResetRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                         requested_by=ANONYMOUS), _any),
    "restart": (_finished, lambda j, at: JobResetRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                           restart=True, requested_by=ANONYMOUS), _any),
}  # fmt: skip

COMMANDS: Final[tuple[CommandName, ...]] = tuple(_COMMANDS)
"""The commands ``command_job`` takes, each ``POST /v1/jobs/{id}/<name>`` in the native API."""


async def command_job(state: State, by: str, job_id: str, name: CommandName) -> JobView | None:
    """Apply command ``name`` (one of ``COMMANDS``) to the job and the descendants it applies to;
    the job once the scheduler has seen it, None if not within the write wait.

    Raises:
        JobNotFoundError: No such job.
        JobFinishedError: Pause or resume of a job that ended.
        JobNotHeldError: Start of a job that is not held.
        JobNotFinishedError: Restart of a job in flight (reset it instead).
    """
    check, build, applies = _COMMANDS[name]
    check(await existing_job(state, job_id))
    seq = await append_to_tree(state, job_id, lambda j, at: replace(build(j, at), requested_by=by), applies)
    return await read_after(state, seq, lambda: state["reader"].get(job_id))


async def cancel_job(state: State, by: str, job_id: str, reason: str) -> JobView | None:
    """Cancel the job and its live descendants; the job once the scheduler has seen the request
    (``cancel_requested``; ``cancelled`` unless it was running), None if not within the write wait.

    Raises:
        JobNotFoundError: No such job.
        JobFinishedError: It already ended.
    """
    job = await existing_job(state, job_id)
    if job.state in TERMINAL:
        raise JobFinishedError(f"job {job_id} is already {job.state}")

    def build(j: str, at: datetime) -> JobCancelRequested:
        return JobCancelRequested(event_id=new_uuid7(), job_id=j, occurred_at=at, reason=reason, requested_by=by)

    seq = await append_to_tree(state, job_id, build, _live)
    return await read_after(state, seq, lambda: state["reader"].get(job_id))


async def delete_job(state: State, by: str, job_id: str) -> bool:
    """Delete the job and its descendants from every view (their events stay); True once the
    scheduler has seen it, False if not within the write wait.

    Raises:
        JobNotFoundError: No such job.
    """
    await existing_job(state, job_id)

    def build(j: str, at: datetime) -> JobEvent:
        return JobDeleteRequested(event_id=new_uuid7(), job_id=j, occurred_at=at, requested_by=by)

    seq = await append_to_tree(state, job_id, build, _any)
    return await wait_applied(state, seq)
