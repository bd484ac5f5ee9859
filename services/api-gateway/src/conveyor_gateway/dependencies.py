"""Job dependencies: checking them (they exist, no cycle) and ``PUT /v1/jobs/{id}/dependencies``.

The scheduler keeps a job ``blocked`` until every dependency succeeded; a job whose dependency
failed, timed out, was cancelled or deleted fails without running (README, "Dependencies").
"""

from datetime import UTC, datetime
from typing import Annotated, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import JobDependenciesSet, job_subject, new_uuid7
from conveyor_events.fields import JobId

from .access import caller, caller_id
from .bodies import JobAccepted
from .dependency_check import check_dependencies, principal_viewer
from .errors import ConflictError
from .routes import State, existing_job, json_response, path_id, read_after, read_json_body
from .validation import decode_body

_NOT_STARTED: Final = frozenset({"pending", "blocked", "queued", "submitted"})


class JobStartedError(ConflictError):
    code = "job_started"
    title = "The job has already been handed to a worker"


class DependenciesBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /v1/jobs/{id}/dependencies``: the complete new list (empty to clear)."""

    depends_on: Annotated[list[JobId], msgspec.Meta(max_length=1000)]


async def set_dependencies(request: Request) -> Response:
    """``PUT /v1/jobs/{id}/dependencies``: replace the dependencies of a job not yet handed out."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    body = decode_body(await read_json_body(request, state["max_body_bytes"]), DependenciesBody)
    job = await existing_job(state, job_id)
    if job.state not in _NOT_STARTED:
        raise JobStartedError(f"job {job_id} is {job.state}; dependencies can only change before it runs")
    depends_on = list(dict.fromkeys(body.depends_on))
    viewer = principal_viewer(caller(request))
    await check_dependencies(state["reader"].pool, job_id, depends_on, "/depends_on", viewer=viewer)
    event = JobDependenciesSet(
        event_id=new_uuid7(),
        job_id=job_id,
        occurred_at=datetime.now(UTC),
        depends_on=tuple(depends_on),
        requested_by=caller_id(request),
    )
    appended = await state["appender"].append(job_subject(job_id), event)
    location = {"Location": f"/v1/jobs/{job_id}"}
    after = await read_after(state, appended.seq, lambda: state["reader"].get(job_id))
    if after is None:
        return json_response(JobAccepted(id=job_id), 202, location)
    return json_response(after, 200, location)


DEPENDENCY_ROUTES: Final = [Route("/v1/jobs/{job_id}/dependencies", set_dependencies, methods=["PUT"])]
