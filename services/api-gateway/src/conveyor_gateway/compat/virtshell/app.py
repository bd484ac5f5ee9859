"""VirtShell's tasks API (issue 18) as a Starlette app: its routes, its auth and its answers.

Served at ``/tasks/…`` (where the real server mounted it) and at ``/api/virtshell/v1/tasks/…``
(where its document puts it), under ``/compat/virtshell`` on the gateway's port and at the root
of a port of its own when configured. Every call is signed (``signing``). As in the real server,
every answer but an authentication failure is HTTP 200 with any error in the body:
``{"error": …}`` for reads, ``{"create"|"update"|"delete": "error", "reason": …}`` for writes.
"""

from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import parse_uuid
from conveyor_runtime import get_logger

from ...core.context import State
from ...core.token_auth import Principal
from ...errors import GatewayError, TooLargeError
from ...http.plumbing import json_response, read_raw_body
from .bodies import TaskIn, TaskList, TaskUpdate
from .signing import SignatureRefusedError, authenticate_signed
from .tasks import TaskError, create_task, delete_all, delete_task, get_task, list_tasks, update_task

PROJECT: Final = "default"  # the project VirtShell tasks go to (it takes jobs while no project claims it)
_log = get_logger("virtshell")
Handler = Callable[[Request, Principal], Awaitable[Response]]


def _signed(scope: str, operation: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` behind VirtShell's signature and ``scope``; errors in the operation's shape."""

    async def endpoint(request: Request) -> Response:
        try:
            principal = await authenticate_signed(request, _state(request)["identity"])
        except SignatureRefusedError as exc:
            _log.warning("virtshell_signature_refused", code=exc.code, path=request.url.path)
            return json_response({"error": exc.message, "code": exc.code}, 401)
        if not principal.has_scope(scope):
            return json_response({"error": f"this token lacks the {scope} scope", "code": "AccessDenied"}, 403)
        try:
            return await handler(request, principal)
        except (TaskError, GatewayError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            reason = exc.detail if isinstance(exc, GatewayError) else str(exc)
            if operation == "read":
                return json_response({"error": reason})
            return json_response({operation: "error", "reason": reason})

    return endpoint


def _state(request: Request) -> State:
    state: State = request.scope["state"]
    return state


def _task_id(request: Request) -> str:
    raw: str = request.path_params["task_id"]
    parsed = parse_uuid(raw)
    if parsed is None:
        raise TaskError(f"task {raw[:64]!r} not found: a task id is a UUID")
    return parsed


async def _body(request: Request) -> bytes:
    # curl -d sends a form content-type: the real server read the body as JSON whatever it said.
    try:
        body = await read_raw_body(request, _state(request)["max_body_bytes"])
    except TooLargeError as exc:
        raise TaskError(exc.detail) from None
    if not body.strip():
        raise TaskError("the body must be a JSON object")
    return body


async def _list(request: Request, principal: Principal) -> Response:
    return json_response(TaskList(tasks=await list_tasks(_state(request), principal, PROJECT)))


async def _by_status(request: Request, principal: Principal) -> Response:
    status = request.path_params["status"]
    return json_response(TaskList(tasks=await list_tasks(_state(request), principal, PROJECT, status)))


async def _get(request: Request, principal: Principal) -> Response:
    raw: str = request.path_params["task_id"]
    if parse_uuid(raw) is None:  # the document's GET /tasks/:status (the real server: /tasks/status/:status)
        return json_response(TaskList(tasks=await list_tasks(_state(request), principal, PROJECT, raw)))
    return json_response(await get_task(_state(request), principal, _task_id(request)))


async def _create(request: Request, principal: Principal) -> Response:
    body = msgspec.json.decode(await _body(request), type=TaskIn)
    task_id = await create_task(_state(request), principal, PROJECT, body)
    return json_response({"create": "success", "task_id": task_id})


async def _update(request: Request, principal: Principal) -> Response:
    task_id = _task_id(request)
    body = msgspec.json.decode(await _body(request), type=TaskUpdate)
    await update_task(_state(request), principal, task_id, body)
    return json_response({"update": "success"})


async def _delete(request: Request, principal: Principal) -> Response:
    await delete_task(_state(request), principal, _task_id(request))
    return json_response({"delete": "success"})


async def _delete_all(request: Request, principal: Principal) -> Response:
    deleted = await delete_all(_state(request), principal, PROJECT)
    return json_response({"delete": "success", "deleted": deleted})


def _routes() -> list[Route]:
    routes: list[Route] = []
    for prefix in ("/tasks", "/api/virtshell/v1/tasks"):  # the real server's paths, and the document's
        for root in (prefix, f"{prefix}/"):
            routes += [
                Route(root, _signed("jobs:read", "read", _list), methods=["GET"]),
                Route(root, _signed("jobs:write", "create", _create), methods=["POST"]),
                Route(root, _signed("jobs:write", "delete", _delete_all), methods=["DELETE"]),
            ]
        routes += [
            Route(f"{prefix}/status/{{status}}", _signed("jobs:read", "read", _by_status), methods=["GET"]),
            Route(f"{prefix}/{{task_id}}", _signed("jobs:read", "read", _get), methods=["GET"]),
            Route(f"{prefix}/{{task_id}}", _signed("jobs:write", "update", _update), methods=["PUT"]),
            Route(f"{prefix}/{{task_id}}", _signed("jobs:write", "delete", _delete), methods=["DELETE"]),
        ]
    return routes


async def _no_route(request: Request, exc: Exception) -> Response:
    """An unknown path or method, in VirtShell's error shape."""
    assert isinstance(exc, HTTPException)
    return json_response({"error": f"{request.method} {request.url.path}: {exc.detail}"}, exc.status_code)


app: Final = Starlette(routes=_routes(), exception_handlers={HTTPException: _no_route})
