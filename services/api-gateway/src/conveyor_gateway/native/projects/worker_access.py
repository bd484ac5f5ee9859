"""Workers' access to projects (task_tracker's model): a worker asks for assign and/or submit
access, a manager (``manage_access``) grants or rejects it. Any worker may be assigned jobs of a
``public`` project; ``private`` and ``hidden`` ones need a grant, and a hidden project does not
exist for a worker without one. Workers holding assign access get the project secret."""

from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events.fields import Identifier

from ...core import worker_access
from ...core.context import State
from ...errors import ForbiddenError, ProjectNotFoundError
from ...http.access import caller
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body
from .routes import require_role, visible_project

_NO_STORE: Final = {"Cache-Control": "no-store"}


class AccessRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/workers/{id}/access-requests``: what the worker asks of a project."""

    project: Identifier
    assign: bool = True
    submit: bool = False


class AccessDecision(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /v1/projects/{name}/workers/{worker_id}``: grant (what) or reject."""

    status: Literal["granted", "rejected"]
    assign: bool = False
    submit: bool = False


class WorkerAccessView(msgspec.Struct, kw_only=True):
    worker_id: str
    status: str
    assign: bool
    submit: bool
    requested_assign: bool
    requested_submit: bool
    updated_at: datetime


class WorkerProject(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A project a worker may take jobs from; ``secret`` only with assign access granted."""

    name: str
    visibility: str
    paused: bool
    priority: int
    version: str
    clone_url: str
    assign: bool
    submit: bool
    secret: str | None = None


AccessList = Annotated[list[WorkerAccessView], msgspec.Meta(max_length=10_000)]


async def _the_worker(request: Request) -> str:
    """The worker in the path, which the request's Basic credentials must prove."""
    state: State = request.scope["state"]
    worker_id = path_id(request, "worker_id", "worker")
    if await state["auth"].authenticate(request.headers.get("authorization")) != worker_id:
        raise ForbiddenError("these credentials belong to another worker than the one in the path")
    return worker_id


async def _fetch(state: State, sql: str, *args: Any) -> list[Any]:
    async with state["projects"].pool.acquire() as conn:
        return list(await conn.fetch(sql, *args))


async def request_access(request: Request) -> Response:
    """``POST /v1/workers/{id}/access-requests`` (worker credentials): 202, a manager decides."""
    state: State = request.scope["state"]
    worker_id = await _the_worker(request)
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), AccessRequest)
    project = await state["projects"].by_name(ask.project)
    try:
        await worker_access.request_access(state, worker_id, project, assign=ask.assign, submit=ask.submit)
    except ProjectNotFoundError:
        raise ProjectNotFoundError(f"no project {ask.project!r}") from None
    assert project is not None
    return json_response({"project": project.name, "status": "requested"}, 202)


async def worker_projects(request: Request) -> Response:
    """``GET /v1/workers/{id}/projects`` (worker credentials): public projects and those granted to it."""
    state: State = request.scope["state"]
    worker_id = await _the_worker(request)
    rows = await _fetch(
        state,
        "SELECT p.name, p.visibility, p.paused, p.priority, p.version, p.clone_url, p.secret,"
        " COALESCE(w.assign, false) AS assign, COALESCE(w.submit, false) AS submit"
        " FROM identity.projects p LEFT JOIN identity.worker_access w"
        " ON w.project_id = p.id AND w.worker_id = $1 AND w.status = 'granted'"
        " WHERE p.visibility = 'public' OR w.assign OR w.submit ORDER BY p.name LIMIT 1000",
        worker_id,
    )
    items = [
        WorkerProject(
            name=r["name"],
            visibility=r["visibility"],
            paused=r["paused"],
            priority=r["priority"],
            version=r["version"],
            clone_url=r["clone_url"],
            assign=r["assign"] or r["visibility"] == "public",
            submit=r["submit"],
            secret=r["secret"] if r["assign"] else None,
        )
        for r in rows
    ]
    return json_response({"items": items}, headers=_NO_STORE)


async def list_worker_access(request: Request) -> Response:
    """``GET /v1/projects/{name}/workers`` (``manage_access``): requests and grants."""
    state: State = request.scope["state"]
    project, roles = await visible_project(request)
    require_role(roles, "manage_access")
    rows = await _fetch(
        state,
        "SELECT worker_id::text AS worker_id, status, assign, submit, requested_assign, requested_submit, updated_at"
        " FROM identity.worker_access WHERE project_id = $1 ORDER BY updated_at DESC LIMIT 10000",
        project.id,
    )
    return json_response({"items": [msgspec.convert(dict(r), WorkerAccessView) for r in rows]})


async def decide_worker_access(request: Request) -> Response:
    """``PUT /v1/projects/{name}/workers/{worker_id}`` (``manage_access``): grant or reject."""
    state: State = request.scope["state"]
    project, roles = await visible_project(request)
    worker_id = path_id(request, "worker_id", "worker")
    decision = decode_body(await read_json_body(request, state["max_body_bytes"]), AccessDecision)
    require_role(roles, "manage_access")
    await worker_access.decide_access(
        state,
        project,
        worker_id,
        decision.status,
        assign=decision.assign,
        submit=decision.submit,
        by=caller(request).user_id,
    )
    granted = decision.status == "granted"
    body = {"worker_id": worker_id, "status": decision.status, "assign": granted and decision.assign,
            "submit": granted and decision.submit}  # fmt: skip
    return json_response(body)


WORKER_ACCESS_ROUTES: Final = [
    Route("/v1/workers/{worker_id}/access-requests", request_access, methods=["POST"]),
    Route("/v1/workers/{worker_id}/projects", worker_projects, methods=["GET"]),
    Route("/v1/projects/{project}/workers", list_worker_access, methods=["GET"]),
    Route("/v1/projects/{project}/workers/{worker_id}", decide_worker_access, methods=["PUT"]),
]
