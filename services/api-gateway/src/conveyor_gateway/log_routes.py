"""Worker-facing endpoints for output: log chunks, progress and leveled worker log lines.

Each one proves the worker (HTTP Basic) and, for a lease, that it is still the job's current one
(``409 lease_not_current`` otherwise, and nothing is stored)."""

from datetime import UTC, datetime
from typing import Annotated, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import (
    WORKER_LOG_LEVELS,
    JobProgressed,
    LogChunk,
    UtcDatetime,
    WorkerLogLine,
    encode_event,
    encode_record,
    new_uuid7,
    progress_subject,
    worker_log_subject,
)

from .bodies import FieldError
from .errors import RouteNotFoundError, UnknownTaskError
from .lease_check import CurrentLease, current_lease
from .leases import _path_worker
from .log_params import check_params, int_param, raise_if, task_param
from .routes import State, path_id, read_json_body, read_raw_body
from .validation import decode_body

_LOG_PARAMS: Final = frozenset({"offset", "task"})


class ProgressReport(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/leases/{lease_id}/progress``."""

    percent: Annotated[float, msgspec.Meta(ge=0, le=100)]
    task: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")] | None = None


class WorkerLogPost(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/workers/{id}/log/{level}`` (task_tracker's ``/log/{level}``)."""

    message: Annotated[str, msgspec.Meta(max_length=65536)]
    scope: Annotated[str, msgspec.Meta(max_length=256)] = ""
    time: UtcDatetime | None = None


async def _lease(request: Request, state: State) -> tuple[str, CurrentLease]:
    lease_id = path_id(request, "lease_id", "lease")
    worker_id = await state["auth"].authenticate(request.headers.get("authorization"))
    lease = await current_lease(
        state["reader"].pool, state["js"], state["watcher"], worker_id, lease_id, state["write_wait_s"]
    )
    return lease_id, lease


async def append_log(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/log?offset=N[&task=NAME]``: raw bytes at ``offset``; 204."""
    state: State = request.scope["state"]
    await state["auth"].authenticate(request.headers.get("authorization"))  # who asks, before what
    params = request.query_params
    errors = check_params(params, _LOG_PARAMS)
    offset = int_param(params, "offset", errors, minimum=0)
    task = task_param(params, errors)
    if "offset" not in params:
        errors.append(FieldError(pointer="offset", detail="required: the byte offset of the chunk's first byte"))
    raise_if(errors)
    assert offset is not None
    lease_id, lease = await _lease(request, state)
    if task and task not in lease.tasks:
        raise UnknownTaskError(
            f"the job has no task {task!r}" + (f"; its tasks: {', '.join(lease.tasks)}" if lease.tasks else "")
        )
    body = await read_raw_body(request, state["max_body_bytes"])
    if not body:
        return Response(status_code=204)
    chunk = LogChunk(job_id=lease.job_id, lease_id=lease_id, attempt=lease.attempt, task=task, offset=offset, data=body)
    next_offset = await state["log_writer"].append(chunk)
    return Response(status_code=204, headers={"Conveyor-Log-Offset": str(next_offset)})


async def report_progress(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/progress``: the worker's own progress figure; 204."""
    state: State = request.scope["state"]
    _, lease = await _lease(request, state)
    report = decode_body(await read_json_body(request, state["max_body_bytes"]), ProgressReport)
    event = JobProgressed(
        event_id=new_uuid7(),
        job_id=lease.job_id,
        occurred_at=datetime.now(UTC),
        percent=report.percent,
        task=report.task,
        source="worker",
    )
    await state["js"].publish(
        progress_subject(lease.job_id), encode_event(event), headers={"Nats-Msg-Id": event.event_id}
    )
    return Response(status_code=204)


async def post_worker_log(request: Request) -> Response:
    """``POST /v1/workers/{id}/log/{level}``: a leveled line about the worker itself; 204."""
    state: State = request.scope["state"]
    worker_id = await _path_worker(request, state)  # who asks, before what
    level = request.path_params["level"]
    if level not in WORKER_LOG_LEVELS:
        raise RouteNotFoundError(f"no log level {level[:16]!r}; use one of {', '.join(WORKER_LOG_LEVELS)}")
    post = decode_body(await read_json_body(request, state["max_body_bytes"]), WorkerLogPost)
    line = WorkerLogLine(
        worker_id=worker_id,
        level=level,
        message=post.message,
        scope=post.scope,
        logged_at=post.time or datetime.now(UTC),
    )
    await state["js"].publish(worker_log_subject(worker_id), encode_record(line))
    return Response(status_code=204)


LOG_WRITE_ROUTES: Final = [
    Route("/v1/leases/{lease_id}/log", append_log, methods=["POST"]),
    Route("/v1/leases/{lease_id}/progress", report_progress, methods=["POST"]),
    Route("/v1/workers/{worker_id}/log/{level}", post_worker_log, methods=["POST"]),
]
