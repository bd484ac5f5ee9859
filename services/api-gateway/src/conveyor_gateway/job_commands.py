"""Operator commands on a job: pause, resume, start (a held job), reset, restart and delete.

Each appends a request event; the scheduler decides what follows (a paused or reset job's live
run is released and its worker told to stop at the next heartbeat). The answer waits until the
scheduler has seen the command, like every write (202 with ``Location`` past the write wait).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from msgspec.structs import replace
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import (
    JobDeleteRequested,
    JobEvent,
    JobPauseRequested,
    JobResetRequested,
    JobResumeRequested,
    JobStartRequested,
    job_subject,
    new_uuid7,
)

from .access import caller_id
from .bodies import JobAccepted, JobView
from .errors import JobFinishedError, JobNotFinishedError, JobNotHeldError
from .routes import (
    ANONYMOUS,
    TERMINAL_STATES,
    State,
    existing_job,
    json_response,
    path_id,
    read_after,
    read_json_body,
    wait_applied,
)

Check = Callable[[JobView], None]
Build = Callable[[str, datetime], JobEvent]


def _not_finished(job: JobView) -> None:
    if job.state in TERMINAL_STATES:
        raise JobFinishedError(f"job {job.id} is already {job.state}")


def _held(job: JobView) -> None:
    if job.state != "pending":
        raise JobNotHeldError(f"job {job.id} is {job.state}, not held (pending)")


def _finished(job: JobView) -> None:
    if job.state not in TERMINAL_STATES:
        raise JobNotFinishedError(f"job {job.id} is {job.state}; use reset for a job in flight")


def _anything(job: JobView) -> None:
    del job


_COMMANDS: Final[dict[str, tuple[Check, Build]]] = {
    "pause": (_not_finished, lambda j, at: JobPauseRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                             requested_by=ANONYMOUS)),
    "resume": (_not_finished, lambda j, at: JobResumeRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                               requested_by=ANONYMOUS)),
    "start": (_held, lambda j, at: JobStartRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                     requested_by=ANONYMOUS)),
    "reset": (_anything, lambda j, at: JobResetRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                         requested_by=ANONYMOUS)),
    "restart": (_finished, lambda j, at: JobResetRequested(event_id=new_uuid7(), job_id=j, occurred_at=at,
                                                           restart=True, requested_by=ANONYMOUS)),
}  # fmt: skip


def _command_endpoint(name: str) -> Callable[[Request], object]:
    check, build = _COMMANDS[name]

    async def endpoint(request: Request) -> Response:
        state: State = request.scope["state"]
        job_id = path_id(request, "job_id", "job")
        await read_json_body(request, state["max_body_bytes"], optional=True)
        check(await existing_job(state, job_id))
        event = replace(build(job_id, datetime.now(UTC)), requested_by=caller_id(request))
        appended = await state["appender"].append(job_subject(job_id), event)
        location = {"Location": f"/v1/jobs/{job_id}"}
        job = await read_after(state, appended.seq, lambda: state["reader"].get(job_id))
        if job is None:
            return json_response(JobAccepted(id=job_id, detail=f"{name} stored; see Location shortly"), 202, location)
        return json_response(job, 200, location)

    endpoint.__doc__ = f"``POST /v1/jobs/{{id}}/{name}``: 200 with the job once the scheduler has seen it."
    return endpoint


async def delete_job(request: Request) -> Response:
    """``DELETE /v1/jobs/{id}``: 204 once the job has left every view (its events stay)."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    await existing_job(state, job_id)
    now = datetime.now(UTC)
    event = JobDeleteRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=now, requested_by=caller_id(request))
    appended = await state["appender"].append(job_subject(job_id), event)
    return Response(status_code=204 if await wait_applied(state, appended.seq) else 202)


JOB_COMMAND_ROUTES: Final = [
    *(Route(f"/v1/jobs/{{job_id}}/{name}", _command_endpoint(name), methods=["POST"]) for name in _COMMANDS),
    Route("/v1/jobs/{job_id}", delete_job, methods=["DELETE"]),
]
