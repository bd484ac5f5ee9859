"""Job access lists (builds.sr.ht's model): set at submission (``read_access``, ``write_access``)
or later by the job's owner with ``PUT /v1/jobs/{id}/access``; read with ``GET``.

They are appended on the job's access subject after the job itself was created, never before:
a submission that finds its dedupe key taken must not touch the existing job's lists.
"""

from typing import Annotated, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.acl_append import set_lists
from ...core.bodies import Grantee, ReadGrantee
from ...core.context import State
from ...errors import JobNotFoundError
from ...http.access import caller
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body


class AccessLists(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A job's access lists: user ids; ``*`` in ``read`` for anyone with ``jobs:read``."""

    read: Annotated[list[ReadGrantee], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=list)
    write: Annotated[list[Grantee], msgspec.Meta(max_length=64)] = msgspec.field(default_factory=list)


async def get_access(request: Request) -> Response:
    """``GET /v1/jobs/{id}/access`` (``jobs:read``, and read access to the job)."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    found = await state["projects"].job_owner(job_id)
    if found is None:
        raise JobNotFoundError(f"no job {job_id}")
    return json_response(AccessLists(read=list(found.read), write=list(found.write)))


async def set_access(request: Request) -> Response:
    """``PUT /v1/jobs/{id}/access`` (the job's owner or an admin): replace both lists."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    body = decode_body(await read_json_body(request, state["max_body_bytes"]), AccessLists)
    read, write = await set_lists(state, caller(request), job_id, body.read, body.write)
    return json_response(AccessLists(read=list(read), write=list(write)))


JOB_ACL_ROUTES: Final = [
    Route("/v1/jobs/{job_id}/access", get_access, methods=["GET"]),
    Route("/v1/jobs/{job_id}/access", set_access, methods=["PUT"]),
]
