"""Changing a job before or between runs, once for every surface: edit its spec (and restart a
finished one in the same call), or replace its dependencies before it is handed out.

An edit is a ``JobEdited`` request event; it applies to runs that start after it. A finished job
keeps its result until it is restarted. Each answer waits until the scheduler has seen the change
(read-your-writes): the job, or None past the write wait.
"""

from datetime import UTC, datetime
from typing import Final

import msgspec

from conveyor_events import JobDependenciesSet, JobEdited, JobResetRequested, PendingAppend, job_subject, new_uuid7
from conveyor_events.states import TERMINAL

from ..errors import ConflictError, FieldError, JobNotFinishedError, ValidationFailedError
from .bodies import JobEdit, JobView
from .context import State
from .dependency_check import check_dependencies, principal_viewer
from .reads import existing_job, read_after
from .submission import edited_payload
from .token_auth import Principal

_NOT_STARTED: Final = frozenset({"pending", "blocked", "queued", "submitted"})


class JobStartedError(ConflictError):
    code = "job_started"
    title = "The job has already been handed to a worker"


_SIMPLE: Final = ("title", "note", "priority", "max_retries", "lease_s", "progress_pattern", "url")


def edited_event(job_id: str, edit: JobEdit, *, is_group: bool, at: datetime, by: str) -> JobEdited:
    """The event of a valid edit.

    Raises:
        ValidationFailedError: Nothing to change, a payload for a group, or a bad payload.
    """
    payload = edited_payload(edit)
    if payload is not None and is_group:
        detail = "a group runs nothing itself: it takes no command, manifest or recipe"
        raise ValidationFailedError(detail, errors=[FieldError(pointer="/command", detail=detail)])
    fields: dict[str, object] = {name: getattr(edit, name) for name in _SIMPLE if getattr(edit, name) is not None}
    if edit.tags is not None:
        fields["tags"] = tuple(edit.tags)
    if edit.labels is not None:
        fields["labels"] = tuple(edit.labels)
    if edit.timeout_s is not msgspec.UNSET:
        fields["timeout_s"] = edit.timeout_s
        fields["clear_timeout"] = edit.timeout_s is None
    if payload is not None:
        fields["payload"] = payload
    if not fields:
        detail = "nothing to change: give at least one field (see PATCH /v1/jobs/{id} in /docs)"
        raise ValidationFailedError(detail, errors=[FieldError(pointer="", detail=detail)])
    return JobEdited(event_id=new_uuid7(), job_id=job_id, occurred_at=at, requested_by=by, **fields)  # type: ignore[arg-type]


async def edit_job(state: State, by: str, job_id: str, edit: JobEdit, *, restart: bool = False) -> JobView | None:
    """Apply ``edit`` to the job (and with ``restart``, restart it: it must have finished).

    Raises:
        JobNotFoundError: No such job.
        JobNotFinishedError: ``restart`` for a job in flight.
        ValidationFailedError: Nothing to change, a payload for a group, or a bad payload.
    """
    job = await existing_job(state, job_id)
    if restart and job.state not in TERMINAL:
        raise JobNotFinishedError(f"job {job_id} is {job.state}; restart=true is for a finished job")
    now = datetime.now(UTC)
    edited = edited_event(job_id, edit, is_group=job.payload is None, at=now, by=by)
    items = [PendingAppend(job_subject(job_id), edited)]
    if restart:
        reset = JobResetRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=now, restart=True,
                                  requested_by=by)  # fmt: skip
        items.append(PendingAppend(job_subject(job_id), reset))
    outcomes = await state["appender"].append_batch(items)
    seq = max(getattr(o, "seq", 0) for o in outcomes)
    return await read_after(state, seq, lambda: state["reader"].get(job_id))


async def set_dependencies(state: State, principal: Principal, job_id: str, depends_on: list[str]) -> JobView | None:
    """Replace the dependencies of a job not yet handed out (an empty list clears them).

    A dependency ``principal`` may not read answers as a missing one (issue 13).

    Raises:
        JobNotFoundError: No such job.
        JobStartedError: It was already handed to a worker.
        ValidationFailedError: Unknown dependencies.
        DependencyCycleError: The job would (transitively) depend on itself.
    """
    job = await existing_job(state, job_id)
    if job.state not in _NOT_STARTED:
        raise JobStartedError(f"job {job_id} is {job.state}; dependencies can only change before it runs")
    unique = list(dict.fromkeys(depends_on))
    viewer = principal_viewer(principal)
    await check_dependencies(state["reader"].pool, job_id, unique, "/depends_on", viewer=viewer)
    event = JobDependenciesSet(
        event_id=new_uuid7(),
        job_id=job_id,
        occurred_at=datetime.now(UTC),
        depends_on=tuple(unique),
        requested_by=principal.user_id,
    )
    appended = await state["appender"].append(job_subject(job_id), event)
    return await read_after(state, appended.seq, lambda: state["reader"].get(job_id))
