"""Endpoints a worker calls with its own credentials: lease jobs, heartbeat, report a run's start,
its tasks and its finish (decode -> ``core.leases`` -> encode)."""

from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import TaskReport

from ...core import leases
from ...core.bodies import TaskName
from ...core.context import State
from ...core.worker_bodies import (
    Heartbeat,
    LeaseAsk,
    LeaseBatch,
    NoFields,
    ReportBatch,
    ReportOutcomes,
    RunFinish,
    RunReported,
    TaskUpdate,
)
from ...errors import ForbiddenError, UnknownTaskError
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body

_encoder: Final = msgspec.json.Encoder()
_task_name_decoder: Final = msgspec.json.Decoder(TaskName)


async def _path_worker(request: Request, state: State) -> str:
    """The worker in the path, which must be the one the credentials prove."""
    worker_id = path_id(request, "worker_id", "worker")
    caller = await state["auth"].authenticate(request.headers.get("authorization"))
    if caller != worker_id:
        raise ForbiddenError("these credentials belong to another worker than the one in the path")
    return worker_id


async def lease_jobs(request: Request) -> Response:
    """``POST /v1/workers/{id}/lease``: up to ``max`` jobs, waiting up to ``wait_s`` for one."""
    state: State = request.scope["state"]
    worker_id = await _path_worker(request, state)
    ask = decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), LeaseAsk)
    return json_response(LeaseBatch(leases=await leases.lease(state, worker_id, ask)))


async def heartbeat(request: Request) -> Response:
    """``POST /v1/workers/{id}/heartbeat``: renew the leases held, record liveness, say what to stop."""
    state: State = request.scope["state"]
    worker_id = await _path_worker(request, state)
    beat = decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), Heartbeat)
    return json_response(await leases.heartbeat(state, worker_id, beat))


async def report_runs(request: Request) -> Response:
    """``POST /v1/workers/{id}/reports``: several starts, task states and finishes in one call,
    each fenced by its lease and answered on its own (issue 21)."""
    state: State = request.scope["state"]
    worker_id = await _path_worker(request, state)
    batch = decode_body(await read_json_body(request, state["max_body_bytes"]), ReportBatch)
    return json_response(ReportOutcomes(results=await leases.report_batch(state, worker_id, batch.reports)))


async def start_run(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/start``: the run under this lease began."""
    state: State = request.scope["state"]
    lease_id = path_id(request, "lease_id", "lease")
    worker_id = await state["auth"].authenticate(request.headers.get("authorization"))
    decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), NoFields)
    return json_response(RunReported(state=await leases.start_run(state, worker_id, lease_id)))


async def finish_run(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/finish``: the run under this lease ended with ``result``."""
    state: State = request.scope["state"]
    lease_id = path_id(request, "lease_id", "lease")
    worker_id = await state["auth"].authenticate(request.headers.get("authorization"))
    done = decode_body(await read_json_body(request, state["max_body_bytes"]), RunFinish)
    return json_response(RunReported(state=await leases.finish_run(state, worker_id, lease_id, done)))


async def report_task(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/tasks/{name}``: a manifest task of the run changed state."""
    state: State = request.scope["state"]
    lease_id = path_id(request, "lease_id", "lease")
    worker_id = await state["auth"].authenticate(request.headers.get("authorization"))
    name = request.path_params["name"]
    try:
        _task_name_decoder.decode(_encoder.encode(name))
    except msgspec.ValidationError:
        raise UnknownTaskError(f"{name[:64]!r} is not a task name (1-64 of A-Z a-z 0-9 _ . -)") from None
    update = decode_body(await read_json_body(request, state["max_body_bytes"]), TaskUpdate)
    task = TaskReport(name=name, state=update.state, exit_code=update.exit_code)
    return json_response(RunReported(state=await leases.report_task(state, worker_id, lease_id, task)))


LEASE_ROUTES: Final = [
    Route("/v1/workers/{worker_id}/lease", lease_jobs, methods=["POST"]),
    Route("/v1/workers/{worker_id}/heartbeat", heartbeat, methods=["POST"]),
    Route("/v1/workers/{worker_id}/reports", report_runs, methods=["POST"]),
    Route("/v1/leases/{lease_id}/start", start_run, methods=["POST"]),
    Route("/v1/leases/{lease_id}/finish", finish_run, methods=["POST"]),
    Route("/v1/leases/{lease_id}/tasks/{name}", report_task, methods=["POST"]),
]
