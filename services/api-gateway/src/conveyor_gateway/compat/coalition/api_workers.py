"""coalition's worker API (``/api/workers``, ``/api/stopworkers``, ``/api/startworkers``) and its
affinity table, over Conveyor's workers. A coalition worker is its name; the Conveyor worker
behind it is the oldest live one registered under that name."""

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ...core import leases, worker_commands, worker_registration
from ...core.context import State
from ...core.reads import wait_applied
from ...core.token_auth import Principal
from ...core.worker_bodies import RunFinish, WorkerMode, WorkerRegistration
from ...core.worker_reader import JobStats, WorkerDoc
from ...core.worker_status import derive_state
from ...errors import LeaseNotCurrentError
from ...http.plumbing import json_response
from .api_jobs import PROJECT, BadRequest, body_json, reader
from .auth import coalition_caller
from .words import parse_affinity

_STATES: Final = {"offline": "TIMEOUT", "busy": "WORKING"}
_AFFINITY_SLOTS: Final = 63


async def _all_workers(state: State) -> list[WorkerDoc]:
    docs: list[WorkerDoc] = []
    after: str | None = None
    while True:
        page, cursor = await state["workers"].list(include_deleted=False, limit=500, after_id=after)
        docs.extend(page)
        if cursor is None or not page:
            return docs
        after = page[-1].id


async def list_workers(request: Request) -> Response:
    """``GET /api/workers``: every live worker, as coalition shows one."""
    await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    docs = await _all_workers(state)
    ids = [d.id for d in docs]
    statuses, stats = await asyncio.gather(state["statuses"].get_many(ids), state["workers"].job_stats(ids))
    current = [s.current_jobs[0] for s in stats.values() if s.current_jobs]
    seqs = await reader(state).seqs_of(current)
    now = datetime.now(UTC)
    out = []
    for doc in sorted(docs, key=lambda d: d.name):
        status, stat = statuses.get(doc.id), stats.get(doc.id, JobStats())
        last_seen = status.last_seen_at if status else None
        word = derive_state(doc.mode, last_seen, has_jobs=bool(stat.current_jobs), now=now)
        job = seqs.get(stat.current_jobs[0], 0) if stat.current_jobs else 0
        load = status.load if status and status.load is not None else 0.0
        out.append({
            "name": doc.name, "ip": "", "affinity": "\n".join(doc.labels), "state": _STATES.get(word, "WAITING"),
            "ping_time": int(last_seen.timestamp()) if last_seen else 0, "finished": stat.finished_count,
            "error": stat.failed_count, "last_job": job, "current_event": job, "cpu": f"[{load:g}]",
            "free_memory": (status.memory_free_mb or 0) if status else 0,
            "total_memory": (status.memory_total_mb or 0) if status else 0, "active": int(doc.mode == "active"),
        })  # fmt: skip
    return json_response(out)


def _names(body: Any) -> list[str]:
    if not isinstance(body, list) or not all(isinstance(n, str) for n in body):
        raise BadRequest("expected a JSON list of worker names")
    return list(body)


async def _release(state: State, worker_id: str) -> None:
    """The worker's running jobs go back to WAITING (coalition's stop)."""
    for _, job in await reader(state).held_by(worker_id):
        if job.lease_id is not None:
            with contextlib.suppress(LeaseNotCurrentError):
                await leases.finish_run(state, worker_id, job.lease_id, RunFinish(result="skipped"))


async def _set_active(request: Request, active: bool) -> Response:
    principal = await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    for worker_id, _, _ in await reader(state).workers_named(_names(await body_json(request))):
        seq = await worker_commands.set_worker_mode(state, principal, worker_id, "active" if active else "paused")
        await wait_applied(state, seq)
        if not active:
            await _release(state, worker_id)
    return json_response(1)


async def stop_workers(request: Request) -> Response:
    """``POST /api/stopworkers``: ``[names]`` get no more jobs; what they run goes back to WAITING."""
    return await _set_active(request, False)


async def start_workers(request: Request) -> Response:
    """``POST /api/startworkers``: ``[names]`` get jobs again."""
    return await _set_active(request, True)


async def delete_workers(request: Request) -> Response:
    """``DELETE /api/workers``: ``[names]``; a worker that calls again is registered anew."""
    principal = await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    for worker_id, _, _ in await reader(state).workers_named(_names(await body_json(request))):
        await worker_commands.delete_worker(state, principal, worker_id)
    return json_response(1)


class WorkerEdit(msgspec.Struct, kw_only=True):
    affinity: str | None = None
    active: int | bool | None = None


async def _edit_worker(state: State, principal: Principal, name: str, edit: WorkerEdit) -> None:
    found = await reader(state).worker_named(name)
    doc = await state["workers"].get(found[0]) if found else None
    labels = parse_affinity(edit.affinity) if edit.affinity is not None else (doc.labels if doc else [])
    try:
        reg = msgspec.convert({"name": name, "labels": labels}, WorkerRegistration)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"worker {name}: {exc}") from None
    worker_id = doc.id if doc else None
    if doc is None or labels != doc.labels:
        # Labels are fixed at registration: the name moves to a new registration with them.
        if doc is not None:
            await worker_commands.delete_worker(state, principal, doc.id)
        done = await worker_registration.register_worker(state, reg, registered_by=principal.user_id)
        worker_id = done.worker_id
    active = bool(edit.active) if edit.active is not None else (doc.mode == "active" if doc else True)
    mode: WorkerMode = "active" if active else "paused"
    current = doc.mode if doc is not None and doc.id == worker_id else "active"
    if worker_id is not None and mode != current:
        await wait_applied(state, await worker_commands.set_worker_mode(state, principal, worker_id, mode))


async def edit_workers(request: Request) -> Response:
    """``POST /api/workers``: ``{name: {affinity: "a\\nb", active: 0|1}}``; an unknown name is registered."""
    principal = await coalition_caller(request, "workers")
    state: State = request.scope["state"]
    body = await body_json(request)
    try:
        edits = msgspec.convert(body, dict[str, WorkerEdit], strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc)) from None
    for name, edit in edits.items():
        await _edit_worker(state, principal, name, edit)
    return json_response(1)


async def get_affinities(request: Request) -> Response:
    """``GET /api/affinities``: the labels in use (jobs and workers), numbered as coalition's slots."""
    await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    labels = set(await reader(state).distinct_labels(PROJECT))
    labels |= {label for d in await _all_workers(state) for label in d.labels}
    return json_response({str(i): name for i, name in enumerate(sorted(labels)[:_AFFINITY_SLOTS], start=1)})


async def set_affinities(request: Request) -> Response:
    """``POST /api/affinities``: refused; affinities are free-form labels, no table to fill."""
    await coalition_caller(request, "jobs:write")
    return PlainTextResponse(
        "affinities need no table in Conveyor: any name in a job's or a worker's affinity is a label", status_code=400
    )
