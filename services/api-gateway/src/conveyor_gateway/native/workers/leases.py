"""Endpoints a worker calls with its own credentials: lease jobs, heartbeat, report a run's start
and finish. Each one is a NATS request to the active scheduler (``conveyor_events.scheduler_api``),
because the answer depends on the scheduler's current state: is this lease still the job's?"""

import asyncio
from datetime import UTC, datetime
from typing import Final, TypeVar

import msgspec
from nats.errors import NoRespondersError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import TaskReport, scheduler_subject
from conveyor_events.scheduler_api import (
    FinishRequest,
    HeartbeatReply,
    HeartbeatRequest,
    LeaseReply,
    LeaseRequest,
    ReportReply,
    StartRequest,
    TaskRequest,
)

from ...core.bodies import (
    Heartbeat,
    HeartbeatAnswer,
    JobView,
    LeaseAsk,
    LeaseBatch,
    LeaseView,
    NoFields,
    RunFinish,
    RunReported,
    StopView,
    TaskName,
    TaskUpdate,
)
from ...core.context import State
from ...core.worker_status import WorkerStatus
from ...errors import (
    ForbiddenError,
    LeaseNotCurrentError,
    SchedulerUnavailableError,
    UnauthenticatedError,
    UnknownTaskError,
    VerificationRequiredError,
    WorkerPausedError,
)
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body

R = TypeVar("R", bound=msgspec.Struct)

CALL_TIMEOUT_S: Final = 5.0
# A lease call waits up to wait_s in the scheduler; this is the margin for the round trip on top.
LEASE_GRACE_S: Final = 5.0
NO_RESPONDERS_RETRY_S: Final = 0.1
_encoder: Final = msgspec.json.Encoder()
_job_decoder: Final = msgspec.json.Decoder(JobView)
_LEASE_LOST: Final = (
    "this lease is no longer the job's: it expired, was cancelled or reassigned; stop the run and lease again"
)


async def _call(state: State, call: str, ask: msgspec.Struct, reply_type: type[R], timeout_s: float) -> R:
    """One request/reply round trip to the scheduler.

    A scheduler failover leaves a moment in which no scheduler listens (the new leader catches
    up with the stream before it serves calls). "No responders" means nobody received the
    request, so it is sent again every ``NO_RESPONDERS_RETRY_S`` until ``timeout_s`` runs out:
    a worker's call rides through a failover instead of failing.

    Raises:
        SchedulerUnavailableError: No scheduler listens, or it did not answer within ``timeout_s``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    payload = _encoder.encode(ask)
    while True:
        try:
            msg = await state["requester"].request(scheduler_subject(call), payload, max(0.01, deadline - loop.time()))
        except NoRespondersError:
            if deadline - loop.time() <= NO_RESPONDERS_RETRY_S:
                raise SchedulerUnavailableError("no scheduler is running; retry shortly") from None
            await asyncio.sleep(NO_RESPONDERS_RETRY_S)
            continue
        except TimeoutError:
            raise SchedulerUnavailableError(f"the scheduler did not answer within {timeout_s:g} s") from None
        return msgspec.json.decode(msg.data, type=reply_type)


_REJECTIONS: Final = {
    "unknown_task": UnknownTaskError,
    "unknown_task_state": UnknownTaskError,
    "verification_required": VerificationRequiredError,
}


def _raise_for(state: State, worker_id: str, error: str | None, detail: str | None = None) -> None:
    """Turn a scheduler error code into the gateway's error; unknown codes are bugs (500)."""
    if error is None:
        return
    if error in _REJECTIONS:
        raise _REJECTIONS[error](detail or error)
    if error in ("unknown_worker", "worker_deleted"):
        state["auth"].forget(worker_id)
        raise UnauthenticatedError("the scheduler does not know this worker (deleted, or not registered)")
    if error == "worker_paused":
        raise WorkerPausedError(f"worker {worker_id} is paused; it gets no jobs until it is resumed")
    if error == "lease_not_current":
        raise LeaseNotCurrentError(_LEASE_LOST)
    raise RuntimeError(f"the scheduler answered with an unknown error code {error!r}")


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
    lease_ask = LeaseRequest(worker_id=worker_id, max=ask.max, wait_s=ask.wait_s)
    reply = await _call(state, "lease", lease_ask, LeaseReply, ask.wait_s + LEASE_GRACE_S)
    _raise_for(state, worker_id, reply.error)
    leases = [
        LeaseView(lease_id=lj.lease_id, attempt=lj.attempt, lease_s=lj.lease_s, job=_job_decoder.decode(lj.job))
        for lj in reply.leases
    ]
    return json_response(LeaseBatch(leases=leases))


async def heartbeat(request: Request) -> Response:
    """``POST /v1/workers/{id}/heartbeat``: renew the leases held, record liveness, say what to stop."""
    state: State = request.scope["state"]
    worker_id = await _path_worker(request, state)
    beat = decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), Heartbeat)
    ask = HeartbeatRequest(worker_id=worker_id, leases=tuple(lease.lower() for lease in beat.leases))
    reply = await _call(state, "heartbeat", ask, HeartbeatReply, CALL_TIMEOUT_S)
    _raise_for(state, worker_id, reply.error)
    status = WorkerStatus(
        last_seen_at=datetime.now(UTC),
        load=beat.load,
        memory_free_mb=beat.memory_free_mb,
        memory_total_mb=beat.memory_total_mb,
    )
    await state["statuses"].put(worker_id, status)
    stop = [StopView(lease_id=s.lease_id, reason=s.reason) for s in reply.stop]
    return json_response(HeartbeatAnswer(stop=stop, lease_s=reply.lease_s))


async def start_run(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/start``: the run under this lease began."""
    state: State = request.scope["state"]
    lease_id = path_id(request, "lease_id", "lease")
    worker_id = await state["auth"].authenticate(request.headers.get("authorization"))
    decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), NoFields)
    ask = StartRequest(worker_id=worker_id, lease_id=lease_id)
    reply = await _call(state, "start", ask, ReportReply, CALL_TIMEOUT_S)
    _raise_for(state, worker_id, reply.error)
    return json_response(RunReported(state=reply.state))


async def finish_run(request: Request) -> Response:
    """``POST /v1/leases/{lease_id}/finish``: the run under this lease ended with ``result``."""
    state: State = request.scope["state"]
    lease_id = path_id(request, "lease_id", "lease")
    worker_id = await state["auth"].authenticate(request.headers.get("authorization"))
    done = decode_body(await read_json_body(request, state["max_body_bytes"]), RunFinish)
    ask = FinishRequest(
        worker_id=worker_id,
        lease_id=lease_id,
        result=done.result,
        exit_code=done.exit_code,
        verification=done.verification,
        started_at=done.started_at,
    )
    for task in done.tasks:  # the tasks' last states first: they belong to the run being closed
        await _report_task(state, worker_id, lease_id, TaskReport(name=task.name, state=task.state,
                                                                  exit_code=task.exit_code))  # fmt: skip
    reply = await _call(state, "finish", ask, ReportReply, CALL_TIMEOUT_S)
    _raise_for(state, worker_id, reply.error, reply.detail)
    return json_response(RunReported(state=reply.state))


async def _report_task(state: State, worker_id: str, lease_id: str, task: TaskReport) -> ReportReply:
    ask = TaskRequest(worker_id=worker_id, lease_id=lease_id, task=task)
    reply = await _call(state, "task", ask, ReportReply, CALL_TIMEOUT_S)
    _raise_for(state, worker_id, reply.error, reply.detail)
    return reply


_task_name_decoder: Final = msgspec.json.Decoder(TaskName)


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
    reply = await _report_task(state, worker_id, lease_id, TaskReport(name=name, state=update.state,
                                                                      exit_code=update.exit_code))  # fmt: skip
    return json_response(RunReported(state=reply.state))


LEASE_ROUTES: Final = [
    Route("/v1/workers/{worker_id}/lease", lease_jobs, methods=["POST"]),
    Route("/v1/workers/{worker_id}/heartbeat", heartbeat, methods=["POST"]),
    Route("/v1/leases/{lease_id}/start", start_run, methods=["POST"]),
    Route("/v1/leases/{lease_id}/finish", finish_run, methods=["POST"]),
    Route("/v1/leases/{lease_id}/tasks/{name}", report_task, methods=["POST"]),
]
