"""Operator commands on a job: pause, resume, start (a held job), reset, restart, cancel and delete
(decode -> ``core.job_commands`` -> encode).

The answer waits until the scheduler has seen the command, like every write (202 with
``Location`` past the write wait).
"""

from collections.abc import Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import job_commands
from ...core.bodies import CancelRequest, JobAccepted
from ...core.context import State
from ...http.access import caller_id
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body


def _command_endpoint(name: job_commands.CommandName) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        state: State = request.scope["state"]
        job_id = path_id(request, "job_id", "job")
        await read_json_body(request, state["max_body_bytes"], optional=True)
        job = await job_commands.command_job(state, caller_id(request), job_id, name)
        location = {"Location": f"/v1/jobs/{job_id}"}
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
    after = await job_commands.cancel_job(state, caller_id(request), job_id, ask.reason)
    location = {"Location": f"/v1/jobs/{job_id}"}
    if after is None:
        accepted = JobAccepted(id=job_id, detail="stored; the job will show the cancellation at Location shortly")
        return json_response(accepted, 202, location)
    return json_response(after, 200, location)


async def delete_job(request: Request) -> Response:
    """``DELETE /v1/jobs/{id}``: 204 once the job and its descendants have left every view (their
    events stay)."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    applied = await job_commands.delete_job(state, caller_id(request), job_id)
    return Response(status_code=204 if applied else 202)


JOB_COMMAND_ROUTES: Final = [
    Route("/v1/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    *(
        Route(f"/v1/jobs/{{job_id}}/{name}", _command_endpoint(name), methods=["POST"])
        for name in job_commands.COMMANDS
    ),
    Route("/v1/jobs/{job_id}", delete_job, methods=["DELETE"]),
]
