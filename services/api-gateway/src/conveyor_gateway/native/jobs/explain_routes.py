"""``GET /v1/jobs/{id}/explain``: the facts ``core.explain_facts`` gathers, turned into reasons by
the rules in ``core.explain``."""

from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.context import State
from ...core.dependency_check import principal_viewer
from ...core.explain import explain
from ...core.explain_facts import gather_facts
from ...errors import JobNotFoundError
from ...http.access import caller
from ...http.plumbing import json_response, path_id


async def explain_job(request: Request) -> Response:
    """``GET /v1/jobs/{id}/explain``: why the job is not running, in words and as coded reasons."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    facts = await gather_facts(state, job_id, datetime.now(UTC), principal_viewer(caller(request)))
    if facts is None:
        raise JobNotFoundError(f"no job {job_id}")
    return json_response(explain(facts))


EXPLAIN_ROUTES: Final = [Route("/v1/jobs/{job_id}/explain", explain_job, methods=["GET"])]
