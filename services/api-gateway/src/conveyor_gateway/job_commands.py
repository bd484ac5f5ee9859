"""Operator commands on a job: pause, resume, start (a held job), reset, restart and delete.

Each appends a request event; the scheduler decides what follows (a paused or reset job's live
run is released and its worker told to stop at the next heartbeat). The answer waits until the
scheduler has seen the command, like every write (202 with ``Location`` past the write wait).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Final

from msgspec.structs import replace
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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

from .access import caller_id
from .bodies import CancelRequest, JobAccepted, JobView
from .errors import JobFinishedError, JobNotFinishedError, JobNotHeldError
from .routes import (
    ANONYMOUS,
    State,
    existing_job,
    json_response,
    path_id,
    read_after,
    read_json_body,
    wait_applied,
)
from .trees import append_to_tree
from .validation import decode_body

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
_COMMANDS: Final[dict[str, tuple[Check, Build, Applies]]] = {
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


def _command_endpoint(name: str) -> Callable[[Request], object]:
    check, build, applies = _COMMANDS[name]

    async def endpoint(request: Request) -> Response:
        state: State = request.scope["state"]
        job_id = path_id(request, "job_id", "job")
        await read_json_body(request, state["max_body_bytes"], optional=True)
        check(await existing_job(state, job_id))
        who = caller_id(request)
        seq = await append_to_tree(state, job_id, lambda j, at: replace(build(j, at), requested_by=who), applies)
        location = {"Location": f"/v1/jobs/{job_id}"}
        job = await read_after(state, seq, lambda: state["reader"].get(job_id))
        if job is None:
            return json_response(JobAccepted(id=job_id, detail=f"{name} stored; see Location shortly"), 202, location)
        return json_response(job, 200, location)

    endpoint.__doc__ = f"``POST /v1/jobs/{{id}}/{name}``: 200 with the job once the scheduler has seen it."
    return endpoint


async def cancel_job(request: Request) -> Response:
    """``POST /v1/jobs/{id}/cancel``: 200 with the job once the scheduler has seen the request
    (``cancel_requested``; ``cancelled`` unless it was running); 409 when it already ended."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    ask = decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), CancelRequest)
    job = await existing_job(state, job_id)
    if job.state in TERMINAL:
        raise JobFinishedError(f"job {job_id} is already {job.state}")

    who = caller_id(request)

    def build(j: str, at: datetime) -> JobCancelRequested:
        return JobCancelRequested(event_id=new_uuid7(), job_id=j, occurred_at=at, reason=ask.reason,
                                  requested_by=who)  # fmt: skip

    from .trees import append_to_tree

    seq = await append_to_tree(state, job_id, build, lambda s: s not in TERMINAL)
    location = {"Location": f"/v1/jobs/{job_id}"}
    after = await read_after(state, seq, lambda: state["reader"].get(job_id))
    if after is None:
        accepted = JobAccepted(id=job_id, detail="stored; the job will show the cancellation at Location shortly")
        return json_response(accepted, 202, location)
    return json_response(after, 200, location)


async def delete_job(request: Request) -> Response:
    """``DELETE /v1/jobs/{id}``: 204 once the job and its descendants have left every view (their
    events stay)."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    await existing_job(state, job_id)
    who = caller_id(request)

    def build(j: str, at: datetime) -> JobEvent:
        return JobDeleteRequested(event_id=new_uuid7(), job_id=j, occurred_at=at, requested_by=who)

    seq = await append_to_tree(state, job_id, build, _any)
    return Response(status_code=204 if await wait_applied(state, seq) else 202)


JOB_COMMAND_ROUTES: Final = [
    Route("/v1/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    *(Route(f"/v1/jobs/{{job_id}}/{name}", _command_endpoint(name), methods=["POST"]) for name in _COMMANDS),
    Route("/v1/jobs/{job_id}", delete_job, methods=["DELETE"]),
]
