"""``PUT /v1/jobs/{id}/dependencies`` (the rule is ``core.job_edits``; the checks ``core.dependency_check``).

The scheduler keeps a job ``blocked`` until every dependency succeeded; a job whose dependency
failed, timed out, was cancelled or deleted fails without running (README, "Dependencies").
"""

from typing import Annotated, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events.fields import JobId

from ...core import job_edits
from ...core.bodies import JobAccepted
from ...core.context import State
from ...http.access import caller
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body


class DependenciesBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /v1/jobs/{id}/dependencies``: the complete new list (empty to clear)."""

    depends_on: Annotated[list[JobId], msgspec.Meta(max_length=1000)]


async def set_dependencies(request: Request) -> Response:
    """``PUT /v1/jobs/{id}/dependencies``: replace the dependencies of a job not yet handed out."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    body = decode_body(await read_json_body(request, state["max_body_bytes"]), DependenciesBody)
    after = await job_edits.set_dependencies(state, caller(request), job_id, body.depends_on)
    location = {"Location": f"/v1/jobs/{job_id}"}
    if after is None:
        return json_response(JobAccepted(id=job_id), 202, location)
    return json_response(after, 200, location)


DEPENDENCY_ROUTES: Final = [Route("/v1/jobs/{job_id}/dependencies", set_dependencies, methods=["PUT"])]
