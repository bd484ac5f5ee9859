"""``/worker/*``, ``/log/*`` and ``/logs``: a task_tracker worker is a Conveyor worker.

- ``/worker/create`` registers one with a secret in task_tracker's form (base64 of 32 random
  bytes, shown only then; only its SHA-256 is stored). Its alias becomes the worker's name
  (spaces and other characters a Conveyor name cannot hold become ``-``).
- ``/log/<level>`` stores a leveled line about the worker (``GET /v1/workers/{id}/log`` reads it)
  and, while the worker holds tasks leased from this gateway, adds it to each task's job log.
"""

import base64
import re
import secrets
from datetime import UTC, datetime
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.context import State
from ...core.lease_check import CurrentLease
from ...core.numbered import all_workers, worker_by_seq, workers_by_id
from ...core.output import append_log, append_worker_log
from ...core.worker_bodies import WorkerRegistration
from ...core.worker_commands import set_worker_mode
from ...core.worker_modes import rename_worker
from ...core.worker_registration import register_worker
from .auth import is_tracker_admin, manager_of, parse_worker_id, require_manager, worker_of
from .envelope import TtError, reply
from .held import held_tasks
from .views import worker_view
from .wire import PARSE_ERROR, CreateWorker, GetLogs, LogLine, SetPaused, UpdateWorker, read_body

_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9_.\-]+")
# task_tracker's log levels (its LogLevel numbers) and Conveyor's words for them.
TT_LEVELS: Final = {"error": 3, "warn": 4, "info": 5, "trace": 7}
_CAPACITY: Final = 256  # task_tracker set no limit on the tasks a worker holds; Conveyor's largest


def alias_name(alias: str) -> str:
    """A Conveyor worker name for a task_tracker alias (empty: ``default_alias``, as the server did)."""
    name = _NOT_NAME.sub("-", alias.strip()).strip("-.")[:64] if alias else ""
    return name if name and name[0].isalnum() else "default_alias"


async def create_worker(request: Request) -> Response:
    state: State = request.scope["state"]
    ask = await read_body(request, CreateWorker)
    if ask.alias == "unassigned":
        raise TtError("Invalid request", 400)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    registration = WorkerRegistration(name=alias_name(ask.alias), capacity=_CAPACITY)
    manager = await manager_of(request)
    done = await register_worker(state, registration, registered_by=manager.user_id if manager else "", secret=secret)
    created = await worker_by_seq(state, done.seq) if done.visible else None
    if created is None:
        view = {
            "id": done.seq,
            "created": int(datetime.now(UTC).timestamp()),
            "alias": registration.name,
            "secret": secret,
            "paused": False,
        }
    else:
        view = worker_view(created, secret=secret)
    return reply({"worker": view})


async def update_worker(request: Request) -> Response:
    state: State = request.scope["state"]
    worker = await worker_of(request, 401)
    ask = await read_body(request, UpdateWorker)
    if ask.alias == "unassigned":
        raise TtError("Invalid request")
    seq = await rename_worker(state, worker.id, alias_name(ask.alias), by=f"worker:{worker.id}")
    await state["watcher"].wait_for(seq, state["write_wait_s"])
    return reply()


async def get_worker(request: Request) -> Response:
    state: State = request.scope["state"]
    try:
        seq = parse_worker_id(request.path_params["id"])
    except TtError:
        raise TtError("Invalid worker id") from None
    found = await worker_by_seq(state, seq)
    if found is None or found.deleted:
        raise TtError("Worker not found", 404)
    # task_tracker showed the secret to its admin; Conveyor keeps only its hash, so never.
    return reply({"worker": worker_view(found)})


async def worker_stats(request: Request) -> Response:
    state: State = request.scope["state"]
    workers = await all_workers(state)
    stats = await state["workers"].job_stats([w.id for w in workers])
    body = [
        {
            "alias": w.name,
            "closed_task_count": s.finished_count if (s := stats.get(w.id)) else 0,
            "paused": w.mode == "paused",
            "id": w.seq,
        }
        for w in workers
    ]
    return reply({"stats": body})


async def set_paused(request: Request) -> Response:
    state: State = request.scope["state"]
    manager = await require_manager(request)
    ask = await read_body(request, SetPaused)
    if not is_tracker_admin(manager):
        raise TtError("Unauthorized", 403)
    found = await worker_by_seq(state, ask.worker) if ask.worker > 0 else None
    if found is None or found.deleted:
        raise TtError("Worker not found", 404)
    seq = await set_worker_mode(state, manager, found.id, "paused" if ask.paused else "active")
    await state["watcher"].wait_for(seq, state["write_wait_s"])
    return reply()


def _log_route(level: str) -> Route:
    async def post_log(request: Request) -> Response:
        state: State = request.scope["state"]
        try:
            worker = await worker_of(request, 400)
            line = await read_body(request, LogLine)
        except TtError as exc:
            raise TtError(PARSE_ERROR, 413 if exc.status == 413 else 400) from None
        if not line.text or not line.scope or line.timestamp <= 0 or line.timestamp > 2**40:
            raise TtError(PARSE_ERROR)
        at = datetime.fromtimestamp(line.timestamp, UTC)
        await append_worker_log(state, worker.id, level, line.text, line.scope, at)
        text = f"[{level}] {line.scope}: {line.text}\n".encode()
        for held in held_tasks(state["workers"]).of_worker(worker.id):
            lease = CurrentLease(job_id=held.job_id, attempt=held.attempt)
            after = await append_log(state, held.lease_id, lease, held.log_offset, "", text)
            held.log_offset = after if after is not None else held.log_offset
        return Response(status_code=204)

    return Route(f"/log/{level}", post_log, methods=["POST"])


async def get_logs(request: Request) -> Response:
    state: State = request.scope["state"]
    ask = await read_body(request, GetLogs)
    level = next((name for name, number in TT_LEVELS.items() if number == ask.level), None)
    if ask.since <= 0 or ask.since > 2**40:
        raise TtError("Invalid request")
    if level is None:
        return reply({"logs": []})
    found = await state["logs"].every_worker_log(level, datetime.fromtimestamp(ask.since, UTC), 10_000)
    numbers = await workers_by_id(state, list({worker_id for worker_id, _ in found}))
    logs = [
        {
            "message": e.message,
            "timestamp": int(e.time.timestamp()),
            "data": msgspec.json.encode({"scope": e.scope, "worker": numbers[w].seq if w in numbers else 0}).decode(),
            "level": ask.level,
        }
        for w, e in found
    ]
    return reply({"logs": logs})


ROUTES: Final = [
    Route("/worker/create", create_worker, methods=["POST"]),
    Route("/worker/update", update_worker, methods=["POST"]),
    Route("/worker/get/{id}", get_worker, methods=["GET"]),
    Route("/worker/stats", worker_stats, methods=["GET"]),
    Route("/worker/set_paused", set_paused, methods=["POST"]),
    *(_log_route(level) for level in TT_LEVELS),
    Route("/logs", get_logs, methods=["POST"]),
]
