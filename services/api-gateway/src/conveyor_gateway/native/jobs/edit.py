"""``PATCH /v1/jobs/{id}``: change a job's spec (builds.sr.ht and coalition both edit jobs); the
rule is ``core.job_edits``. ``?restart=true`` also restarts a finished job, in one call.
"""

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import job_edits
from ...core.bodies import JobAccepted, JobEdit
from ...core.context import State
from ...errors import FieldError, InvalidQueryError
from ...http.access import caller_id
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body


def _restart_flag(request: Request) -> bool:
    raw = request.query_params.get("restart", "false").lower()
    unknown = [k for k in request.query_params if k != "restart"]
    if raw not in ("true", "false") or unknown:
        errors = [FieldError(pointer=k, detail="unknown parameter; use restart") for k in unknown]
        if raw not in ("true", "false"):
            errors.append(FieldError(pointer="restart", detail="true or false"))
        raise InvalidQueryError("invalid query parameters", errors=errors)
    return raw == "true"


async def edit_job(request: Request) -> Response:
    """``PATCH /v1/jobs/{id}[?restart=true]``: 200 with the edited job."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    restart = _restart_flag(request)
    edit = decode_body(await read_json_body(request, state["max_body_bytes"]), JobEdit)
    after = await job_edits.edit_job(state, caller_id(request), job_id, edit, restart=restart)
    location = {"Location": f"/v1/jobs/{job_id}"}
    if after is None:
        return json_response(JobAccepted(id=job_id, detail="edit stored; see Location shortly"), 202, location)
    return json_response(after, 200, location)


EDIT_ROUTES: Final = [Route("/v1/jobs/{job_id}", edit_job, methods=["PATCH"])]
