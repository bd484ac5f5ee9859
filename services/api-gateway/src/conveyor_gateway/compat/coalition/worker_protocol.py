"""coalition's worker protocol (``/workers/pickjob``, ``/workers/heartbeat``, ``/workers/endjob``)
as Conveyor leases: a worker is its host name, registered on first contact; a picked job is a
lease whose run has started; a heartbeat's base64 log chunk is appended to the run's log and
renews the lease; the end is the run's report. Answers are what the stock ``worker.py`` parses:
a Python tuple literal, ``true``/``false``, ``None``."""

import asyncio
import base64
import binascii
import contextlib
import re
from typing import Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from conveyor_events import EVENTS_STREAM, LogChunk, job_subject
from conveyor_events.states import LEASED

from ...core import leases, worker_registration
from ...core.bodies import JobView
from ...core.context import State
from ...core.reads import first_seq
from ...core.seq_reader import SeqReader
from ...core.token_auth import Principal
from ...core.worker_bodies import Heartbeat, LeaseAsk, RunFinish, WorkerRegistration
from ...errors import LeaseNotCurrentError, MalformedError, UnauthenticatedError, WorkerPausedError
from ...http.plumbing import read_raw_body
from .auth import coalition_caller
from .words import IDLE, job_tuple, parse_int, parse_load

_FORM_LIMIT: Final = 16 * 1024 * 1024  # a heartbeat carries the log since the last one
_HOSTNAME: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_registering: dict[str, asyncio.Lock] = {}


def _text(body: str, status: int = 200) -> Response:
    return PlainTextResponse(body, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    """The query string and the form body merged, as Twisted's ``request.args`` does."""
    body = await read_raw_body(request, _FORM_LIMIT)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise MalformedError("the form body is not UTF-8") from None
    return {**dict(request.query_params), **dict(pairs)}


def _hostname(form: dict[str, str]) -> str:
    name = form.get("hostname", "")
    if not re.match(_HOSTNAME, name):
        raise MalformedError("hostname: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


async def _worker_id(state: State, principal: Principal, name: str, *, register: bool) -> str | None:
    """The Conveyor worker of host ``name``; registered now (with ``register``) if there is none."""
    reader = SeqReader(state["reader"].pool)
    found = await reader.worker_named(name)
    if found is not None or not register:
        return found[0] if found else None
    lock = _registering.setdefault(name, asyncio.Lock())
    try:
        async with lock:  # one registration per name from this process
            found = await reader.worker_named(name)
            if found is not None:
                return found[0]
            reg = WorkerRegistration(name=name, labels=[], capacity=1)
            done = await worker_registration.register_worker(state, reg, registered_by=principal.user_id)
            return done.worker_id if done.visible else None
    finally:
        if not lock.locked():
            _registering.pop(name, None)


def _status(form: dict[str, str], leased: list[str]) -> Heartbeat:
    free, total = parse_int(form.get("free_memory")), parse_int(form.get("total_memory"))
    return Heartbeat(
        leases=leased,
        load=parse_load(form.get("load", "")),
        memory_free_mb=free if free is not None and free >= 0 else None,
        memory_total_mb=total if total is not None and total >= 0 else None,
    )


async def _release_held(state: State, worker_id: str) -> None:
    """A worker asking for a job runs none: give back what it still holds (it crashed mid-run)."""
    for _, job in await SeqReader(state["reader"].pool).held_by(worker_id):
        if job.lease_id is not None:
            with contextlib.suppress(LeaseNotCurrentError):
                await leases.finish_run(state, worker_id, job.lease_id, RunFinish(result="skipped"))


async def pickjob(request: Request) -> Response:
    """``POST /workers/pickjob``: the next job as ``(id, 'cmd', 'dir', 'user', 'env')``, or the idle tuple."""
    principal = await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    form = await _form(request)
    worker_id = await _worker_id(state, principal, _hostname(form), register=True)
    if worker_id is None:
        return _text(IDLE)  # registered a moment ago; the scheduler sees it at the next call
    await _release_held(state, worker_id)
    try:
        await leases.record_status(state, worker_id, _status(form, []))
        got = await leases.lease(state, worker_id, LeaseAsk(max=1, wait_s=0))
    except (WorkerPausedError, UnauthenticatedError):
        return _text(IDLE)  # an inactive (or just deleted) worker gets no job
    if not got:
        return _text(IDLE)
    leased = got[0]
    try:
        await leases.start_run(state, worker_id, leased.lease_id)
    except LeaseNotCurrentError:
        return _text(IDLE)
    number = await first_seq(state, job_subject(leased.job.id))
    return _text(job_tuple(number, leased.job))


async def _settled(state: State) -> None:
    """Wait until the scheduler's projection has folded every event appended so far."""
    info = await state["js"].stream_info(EVENTS_STREAM)
    await state["watcher"].wait_for(info.state.last_seq, state["write_wait_s"])


def _holds(job: JobView | None, worker_id: str) -> bool:
    return job is not None and job.worker_id == worker_id and job.state in LEASED and job.lease_id is not None


async def _held_job(state: State, worker_id: str | None, form: dict[str, str]) -> JobView | None:
    """The job ``jobId`` if ``worker_id`` holds its lease now.

    The projection may not show a lease granted a moment ago (a quick job ends before its
    assignment is folded): on a miss, the lookup waits for the projection to catch up once.
    """
    number = parse_int(form.get("jobId"))
    if worker_id is None or number is None:
        return None
    for attempt in range(2):
        found = await SeqReader(state["reader"].pool).job_at(number)
        job = found[1] if found else None
        if _holds(job, worker_id):
            return job
        if attempt == 0:
            await _settled(state)
    return None


async def heartbeat(request: Request) -> Response:
    """``POST /workers/heartbeat``: store the log chunk, renew the lease; ``false`` stops the run."""
    principal = await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    form = await _form(request)
    try:
        data = base64.b64decode(form.get("log", ""), validate=True)
    except binascii.Error:
        raise MalformedError("log: not base64") from None
    worker_id = await _worker_id(state, principal, _hostname(form), register=False)
    job = await _held_job(state, worker_id, form)
    if worker_id is None or job is None or job.lease_id is None:
        return _text("false")
    try:
        if data:  # the worker sends the bytes since its last heartbeat, no offset: they go at the end
            chunk = LogChunk(job_id=job.id, lease_id=job.lease_id, attempt=max(1, job.attempts), task="", offset=0,
                             data=data)  # fmt: skip
            await state["log_writer"].append_at_end(chunk)
        answer = await leases.heartbeat(state, worker_id, _status(form, [job.lease_id]))
    except (LeaseNotCurrentError, WorkerPausedError, UnauthenticatedError):
        return _text("false")
    return _text("false" if answer.stop else "true")


async def endjob(request: Request) -> Response:
    """``POST /workers/endjob``: the run ended with ``errorCode`` (0: FINISHED, else ERROR)."""
    principal = await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    form = await _form(request)
    code = parse_int(form.get("errorCode"))
    if code is None or not -(2**31) <= code < 2**31:
        raise MalformedError("errorCode: the process's exit code, an integer")
    worker_id = await _worker_id(state, principal, _hostname(form), register=False)
    job = await _held_job(state, worker_id, form)
    if worker_id is not None and job is not None and job.lease_id is not None:
        done = RunFinish(result="succeeded" if code == 0 else "failed", exit_code=code)
        # LeaseNotCurrent: the job was taken back meanwhile; the report is for a run that no longer counts.
        with contextlib.suppress(LeaseNotCurrentError):
            await leases.finish_run(state, worker_id, job.lease_id, done)
    return _text("None")
