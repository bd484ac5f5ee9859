"""Endpoints that manage workers under ``/v1/workers``: register, read, list, pause, resume,
drain and delete. The endpoints a worker calls with its own credentials are in leases.py."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import WorkerDeleted, new_uuid7, worker_subject

from ...core import worker_registration
from ...core.context import State
from ...core.reads import read_after, wait_applied
from ...core.worker_bodies import (
    NoFields,
    WorkerAccepted,
    WorkerCreated,
    WorkerMode,
    WorkerPage,
    WorkerRegistration,
    WorkerView,
)
from ...core.worker_modes import set_worker_mode
from ...core.worker_reader import JobStats, WorkerDoc, decode_worker_cursor
from ...core.worker_status import WorkerStatus, derive_state
from ...errors import FieldError, ForbiddenError, InvalidQueryError, WorkerNotFoundError
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


def _view(doc: WorkerDoc, status: WorkerStatus | None, stats: JobStats, now: datetime) -> WorkerView:
    last_seen_at = status.last_seen_at if status is not None else None
    return WorkerView(
        id=doc.id,
        name=doc.name,
        labels=doc.labels,
        capacity=doc.capacity,
        mode=doc.mode,
        deleted=doc.deleted,
        registered_at=doc.registered_at,
        version=doc.version,
        owner=doc.owner,
        state=derive_state(doc.mode, last_seen_at, has_jobs=bool(stats.current_jobs), now=now),
        last_seen_at=last_seen_at,
        load=status.load if status is not None else None,
        memory_free_mb=status.memory_free_mb if status is not None else None,
        memory_total_mb=status.memory_total_mb if status is not None else None,
        current_jobs=stats.current_jobs,
        finished_count=stats.finished_count,
        failed_count=stats.failed_count,
    )


async def _views(state: State, docs: list[WorkerDoc]) -> list[WorkerView]:
    ids = [d.id for d in docs]
    statuses, stats = await asyncio.gather(state["statuses"].get_many(ids), state["workers"].job_stats(ids))
    now = datetime.now(UTC)
    return [_view(d, statuses.get(d.id), stats.get(d.id, JobStats()), now) for d in docs]


async def _read_view(state: State, worker_id: str) -> WorkerView | None:
    doc = await state["workers"].get(worker_id)
    return None if doc is None else (await _views(state, [doc]))[0]


async def _live_worker(state: State, worker_id: str) -> WorkerDoc:
    doc = await state["workers"].get(worker_id)
    if doc is None or doc.deleted:
        raise WorkerNotFoundError(f"no worker {worker_id}")
    return doc


async def _owned_worker(request: Request, state: State, worker_id: str) -> WorkerDoc:
    """The live worker, if the caller registered it or is an admin (issue 13).

    Raises:
        WorkerNotFoundError: No such live worker.
        ForbiddenError: Someone else's worker (every ``workers`` holder may read it, hence 403).
    """
    doc = await _live_worker(state, worker_id)
    principal = caller(request)
    if not principal.has_scope("admin") and (not doc.owner or doc.owner != principal.user_id):
        raise ForbiddenError(
            f"worker {worker_id} is not yours: only who registered it, or an admin, may pause, drain or delete it"
        )
    return doc


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
    view = await _read_view(state, worker_id)
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
    return json_response(WorkerPage(items=await _views(state, docs), next_cursor=next_cursor))


def _mode_endpoint(mode: WorkerMode) -> Callable[[Request], Awaitable[Response]]:
    async def change_mode(request: Request) -> Response:
        state: State = request.scope["state"]
        worker_id = path_id(request, "worker_id", "worker")
        decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), NoFields)
        await _owned_worker(request, state, worker_id)
        seq = await set_worker_mode(state, worker_id, mode, by=caller_id(request))
        view = await read_after(state, seq, lambda: _read_view(state, worker_id))
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
    await _owned_worker(request, state, worker_id)
    event = WorkerDeleted(
        event_id=new_uuid7(), worker_id=worker_id, occurred_at=datetime.now(UTC), requested_by=caller_id(request)
    )
    appended = await state["appender"].append(worker_subject(worker_id), event)
    is_applied = await wait_applied(state, appended.seq)
    state["auth"].forget(worker_id)  # after the wait: a lookup meanwhile may have cached the live row
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
