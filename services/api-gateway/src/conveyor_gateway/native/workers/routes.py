"""Endpoints that manage workers under ``/v1/workers``: register, read, list, pause, resume,
drain and delete. The endpoints a worker calls with its own credentials are in leases.py."""

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import worker_commands, worker_registration
from ...core.context import State
from ...core.reads import read_after
from ...core.worker_bodies import (
    NoFields,
    WorkerAccepted,
    WorkerCreated,
    WorkerMode,
    WorkerPage,
    WorkerRegistration,
)
from ...core.worker_reader import decode_worker_cursor
from ...core.worker_views import read_worker_view, worker_views
from ...errors import FieldError, InvalidQueryError, WorkerNotFoundError
from ...http.access import caller, caller_id
from ...http.plumbing import json_response, page_limit, path_id, read_json_body
from ...http.validation import decode_body

CREDENTIALS_HINT: Final = (
    "Authenticate as this worker with HTTP Basic: user = id, password = secret "
    '(curl -u "$ID:$SECRET"). The secret is shown only in this response; store it now.'
)
_LIST_PARAMS: Final = frozenset({"include_deleted", "limit", "cursor"})
_BOOLEANS: Final = {"true": True, "false": False}


def _location(worker_id: str) -> dict[str, str]:
    return {"Location": f"/v1/workers/{worker_id}"}


async def register_worker(request: Request) -> Response:
    """``POST /v1/workers``: 201 with the worker and its secret once the scheduler has seen it;
    202 with the same body if it has not within the write wait (the credentials work shortly)."""
    state: State = request.scope["state"]
    reg = decode_body(await read_json_body(request, state["max_body_bytes"]), WorkerRegistration)
    done = await worker_registration.register_worker(state, reg, registered_by=caller_id(request))
    body = WorkerCreated(
        id=done.worker_id,
        name=reg.name,
        labels=reg.labels,
        capacity=reg.capacity,
        mode="active",
        secret=done.secret,
        credentials_hint=CREDENTIALS_HINT,
    )
    headers = {**_location(done.worker_id), "Cache-Control": "no-store"}
    return json_response(body, 201 if done.visible else 202, headers)


async def get_worker(request: Request) -> Response:
    """``GET /v1/workers/{id}``: the worker, deleted ones included (``deleted: true``)."""
    state: State = request.scope["state"]
    worker_id = path_id(request, "worker_id", "worker")
    view = await read_worker_view(state, worker_id)
    if view is None:
        raise WorkerNotFoundError(f"no worker {worker_id}")
    return json_response(view)


def _list_query(request: Request) -> tuple[bool, int, str | None]:
    params = request.query_params
    errors = [
        FieldError(pointer=k, detail=f"unknown parameter; use {', '.join(sorted(_LIST_PARAMS))}")
        for k in params
        if k not in _LIST_PARAMS
    ]
    include_deleted = _BOOLEANS.get(params.get("include_deleted", "false"))
    if include_deleted is None:
        errors.append(FieldError(pointer="include_deleted", detail="true or false"))
    limit = page_limit(params, errors)
    if errors:
        raise InvalidQueryError("invalid query parameters", errors=errors)
    cursor = params.get("cursor")
    return bool(include_deleted), limit, decode_worker_cursor(cursor) if cursor else None


async def list_workers(request: Request) -> Response:
    """``GET /v1/workers?include_deleted=&limit=&cursor=``, newest first."""
    state: State = request.scope["state"]
    include_deleted, limit, after_id = _list_query(request)
    docs, next_cursor = await state["workers"].list(include_deleted=include_deleted, limit=limit, after_id=after_id)
    return json_response(WorkerPage(items=await worker_views(state, docs), next_cursor=next_cursor))


def _mode_endpoint(mode: WorkerMode) -> Callable[[Request], Awaitable[Response]]:
    async def change_mode(request: Request) -> Response:
        state: State = request.scope["state"]
        worker_id = path_id(request, "worker_id", "worker")
        decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), NoFields)
        seq = await worker_commands.set_worker_mode(state, caller(request), worker_id, mode)
        view = await read_after(state, seq, lambda: read_worker_view(state, worker_id))
        if view is None:
            return json_response(WorkerAccepted(id=worker_id), 202, _location(worker_id))
        return json_response(view, 200, _location(worker_id))

    change_mode.__doc__ = f"``POST /v1/workers/{{id}}/...``: set the worker's mode to {mode}; 200 with the worker."
    return change_mode


async def delete_worker(request: Request) -> Response:
    """``DELETE /v1/workers/{id}``: 204 once the scheduler has applied it; its credentials stop
    working at once on this gateway and within the credential cache's TTL on the others."""
    state: State = request.scope["state"]
    worker_id = path_id(request, "worker_id", "worker")
    is_applied = await worker_commands.delete_worker(state, caller(request), worker_id)
    if not is_applied:
        return json_response(WorkerAccepted(id=worker_id), 202, _location(worker_id))
    return Response(status_code=204)


WORKER_ROUTES: Final = [
    Route("/v1/workers", register_worker, methods=["POST"]),
    Route("/v1/workers", list_workers, methods=["GET"]),
    Route("/v1/workers/{worker_id}", get_worker, methods=["GET"]),
    Route("/v1/workers/{worker_id}", delete_worker, methods=["DELETE"]),
    Route("/v1/workers/{worker_id}/pause", _mode_endpoint("paused"), methods=["POST"]),
    Route("/v1/workers/{worker_id}/resume", _mode_endpoint("active"), methods=["POST"]),
    Route("/v1/workers/{worker_id}/drain", _mode_endpoint("draining"), methods=["POST"]),
]
