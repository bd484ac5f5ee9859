"""User-facing reads of output: a job's log (whole, or a byte range) and its live tail (SSE),
and a worker's leveled log lines. Every job read passes ``read_access.readable_job``."""

import codecs
from collections.abc import AsyncIterator
from typing import Final

import msgspec
import nats.errors
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conveyor_events import LOGS_STREAM, WORKER_LOG_LEVELS, log_appended_subject
from conveyor_events.states import TERMINAL

from ...core.context import State
from ...core.log_store import LogInfo, WorkerLogEntry
from ...errors import FieldError
from ...http.byte_ranges import parse_range
from ...http.plumbing import json_response, path_id
from .log_params import MAX_ATTEMPT, bounded_int, check_params, int_param, raise_if, task_param, time_param
from .read_access import readable_job

COLLECTOR: Final = "log-collector"  # the collector's consumer (checkpoint) name
_LOG_PARAMS: Final = frozenset({"task", "attempt"})
_STREAM_PARAMS: Final = frozenset({"task", "attempt", "offset"})
_WORKER_LOG_PARAMS: Final = frozenset({"level", "since", "until", "limit"})
_WAIT_S: Final = 1.0
_KEEPALIVE_S: Final = 15.0
_encoder: Final = msgspec.json.Encoder()


class WorkerLogPage(msgspec.Struct, kw_only=True):
    """``GET /v1/workers/{id}/log``: oldest first."""

    items: list[WorkerLogEntry]


class TailEvent(msgspec.Struct, kw_only=True):
    """The ``data`` of one SSE message: text starting at byte ``offset`` of the log."""

    offset: int
    text: str


class TailEnd(msgspec.Struct, kw_only=True):
    """The last SSE message (``event: end``): the job's final state and the log's size."""

    state: str
    size: int
    truncated: bool


def _params(request: Request, allowed: frozenset[str]) -> tuple[str, int | None, int | None]:
    params = request.query_params
    errors = check_params(params, allowed)
    task = task_param(params, errors)
    attempt = int_param(params, "attempt", errors, minimum=1, maximum=MAX_ATTEMPT)
    offset = int_param(params, "offset", errors, minimum=0)
    raise_if(errors)
    return task, attempt, offset


async def get_log(request: Request) -> Response:
    """``GET /v1/jobs/{id}/log``: text; ``Range`` -> 206; SSE when asked for ``text/event-stream``."""
    if "text/event-stream" in request.headers.get("accept", ""):
        return await stream_log(request)
    state: State = request.scope["state"]
    job = await readable_job(request, state)
    task, attempt, _ = _params(request, _LOG_PARAMS)
    info = await _log_info(state, job.id, task, attempt, job.attempts) or LogInfo(attempt or job.attempts, 0, False)
    wanted = parse_range(request.headers.get("range"), info.size)
    headers = {
        "Accept-Ranges": "bytes",
        "Conveyor-Log-Attempt": str(info.attempt),
        "Conveyor-Log-Truncated": "true" if info.truncated else "false",
    }
    start, end, status = 0, info.size, 200
    if wanted is not None:
        start, end, status = wanted.start, wanted.end, 206
        headers["Content-Range"] = wanted.content_range
    headers["Content-Length"] = str(end - start)
    body = (piece async for _, piece in state["logs"].chunks(job.id, info.attempt, task, start, end))
    return StreamingResponse(body, status_code=status, headers=headers, media_type="text/plain; charset=utf-8")


async def stream_log(request: Request) -> Response:
    """``GET /v1/jobs/{id}/log/stream``: Server-Sent Events of new output until the job ends.

    Each message's ``id`` is the byte offset after its text: a client that reconnects with
    ``Last-Event-ID`` (or ``?offset=``) resumes there, without gaps or repeats.
    """
    state: State = request.scope["state"]
    job = await readable_job(request, state)
    task, attempt, offset = _params(request, _STREAM_PARAMS)
    last_id = request.headers.get("last-event-id", "")
    errors: list[FieldError] = []
    resumed = bounded_int(last_id, "Last-Event-ID", errors, minimum=0) if last_id else None
    raise_if(errors)  # before the stream starts: a bad header cannot break it mid-body
    start = resumed if resumed is not None else offset or 0
    events = _tail(state, job.id, task, attempt, start, job.attempts)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, headers=headers, media_type="text/event-stream")


async def _log_info(state: State, job_id: str, task: str, attempt: int | None, current: int) -> LogInfo | None:
    """The asked attempt's log; without one, the latest attempt's, which is never older than the
    job's ``current`` attempt (as its projection has it).

    The collector stores output asynchronously: once a retry started, its output may still be on its
    way while the failed attempt's log is stored. That attempt is not the latest any more: until the
    collector has the new one's output, its log is empty (None), not the previous attempt's.
    """
    info = await state["logs"].log_info(job_id, task, attempt)
    if attempt is None and info is not None and info.attempt < current:
        return None
    return info


async def _tail(
    state: State, job_id: str, task: str, attempt: int | None, start: int, current: int
) -> AsyncIterator[bytes]:
    logs = state["logs"]
    sub = await state["nc"].subscribe(log_appended_subject(job_id))
    try:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        position = start  # bytes fed to the decoder
        emitted = start  # bytes sent as text
        final_state = ""
        target: int | None = None  # LOGS sequence the collector must pass once the job ended
        idle_s = 0.0
        yield b"retry: 1000\n\n"
        while True:
            info = await _log_info(state, job_id, task, attempt, current)
            if info is not None:
                attempt = info.attempt  # follow the attempt found first, not a later retry's log
                async for offset, data in logs.chunks(job_id, info.attempt, task, position):
                    text = decoder.decode(data)
                    position = offset + len(data)
                    emitted_to = position - len(decoder.getstate()[0])  # a split UTF-8 character waits
                    if text:
                        event = _encoder.encode(TailEvent(offset=emitted, text=text)).decode()
                        yield f"id: {emitted_to}\ndata: {event}\n\n".encode()
                        emitted = emitted_to
            if target is not None and await logs.checkpoint(COLLECTOR) >= target:
                end = TailEnd(state=final_state, size=info.size if info else 0, truncated=bool(info and info.truncated))
                yield b"event: end\ndata: " + _encoder.encode(end) + b"\n\n"
                return
            try:
                await sub.next_msg(timeout=_WAIT_S)
                idle_s = 0.0
            except nats.errors.TimeoutError:
                idle_s += _WAIT_S
                if idle_s >= _KEEPALIVE_S:
                    idle_s = 0.0
                    yield b": keepalive\n\n"
            if target is None:
                job = await state["reader"].get(job_id)
                if job is None or job.state in TERMINAL:
                    final_state = job.state if job is not None else "deleted"
                    # Everything the worker sent went out before its finish: once the collector
                    # passes the stream's current end, the log is complete.
                    target = (await state["js"].stream_info(LOGS_STREAM)).state.last_seq
    finally:
        await sub.unsubscribe()


async def get_worker_log(request: Request) -> Response:
    """``GET /v1/workers/{id}/log?level=&since=&until=&limit=``: lines at ``level`` or above."""
    state: State = request.scope["state"]
    worker_id = path_id(request, "worker_id", "worker")
    params = request.query_params
    errors = check_params(params, _WORKER_LOG_PARAMS)
    level = params.get("level", "trace")
    if level not in WORKER_LOG_LEVELS:
        errors.append(FieldError(pointer="level", detail=f"one of {', '.join(WORKER_LOG_LEVELS)}"))
    since = time_param(params, "since", errors)
    until = time_param(params, "until", errors)
    limit = int_param(params, "limit", errors, minimum=1, maximum=1000)
    raise_if(errors)
    items = await state["logs"].worker_log(worker_id, level, since, until, limit or 100)
    return json_response(WorkerLogPage(items=items))


LOG_READ_ROUTES: Final = [
    Route("/v1/jobs/{job_id}/log", get_log, methods=["GET"]),
    Route("/v1/jobs/{job_id}/log/stream", stream_log, methods=["GET"]),
    Route("/v1/workers/{worker_id}/log", get_worker_log, methods=["GET"]),
]
