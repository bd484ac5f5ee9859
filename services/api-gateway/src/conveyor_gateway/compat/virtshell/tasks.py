"""VirtShell's task operations over Conveyor's use cases: a task is a Conveyor job.

A task is a recipe job labelled and tagged ``virtshell`` in the façade's project. Its status is
what its clients report: ``PUT`` on a queued task claims it through the scheduler for the caller's
token (each signing token is a dispatcher, and acts as a Conveyor worker of its own,
``claims_worker``): a lease of that one job, so of two dispatchers claiming one task one gets it
and the other an error. It starts the run; then each report of the holder renews the lease,
appends a status line to the job's log (``history``) and, for a final word, finishes the run.
Reports from anyone else on a held task are refused.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Final

import msgspec

from conveyor_events import EVENTS_STREAM, LOGS_STREAM, LogChunk
from conveyor_events.states import LEASED, TERMINAL

from ...core import job_commands, leases, output
from ...core.bodies import JobSubmission, JobView, RecipeView
from ...core.context import State
from ...core.job_access import check_access_to
from ...core.reader import JobFilter, decode_cursor
from ...core.submit import submit
from ...core.token_auth import Principal
from ...core.worker_bodies import Heartbeat, RunFinish
from ...core.worker_registration import ensure_service_worker
from ...errors import NotFoundError
from .bodies import Created, Recipe, RecipeDoc, TaskDoc, TaskIn, TaskUpdate
from .history import Report, encode_report, parse_reports
from .states import kind_of, shown_status

LABEL: Final = "virtshell"
LEASE_S: Final = 3600  # a dispatcher or agent may be silent this long between reports
MAX_LOG_READ: Final = 4 * 1024 * 1024
_PAGE: Final = 500
_recipe_encoder: Final = msgspec.json.Encoder()


def claims_worker(principal: Principal) -> str:
    """The Conveyor worker a dispatcher (a signing token) claims tasks as: a fixed id per token."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"conveyor:compat:virtshell:{principal.token_id}"))


class TaskError(Exception):
    """A request VirtShell answers with an error in its body; the message says why."""


async def create_task(state: State, principal: Principal, project: str, body: TaskIn) -> str:
    """Submit the task as a job; a status other than pending/queued is reported at once (the
    creator claims it). Returns the task's uuid."""
    recipe = RecipeDoc(
        virtshell=Recipe(
            description=body.description, type=body.type, object_uuid=body.object_uuid, status="pending", log=body.log
        )
    )
    sub = JobSubmission(
        project=project,
        title=(body.description or body.type or "VirtShell task")[:256],
        tags=[LABEL],
        labels=[LABEL],
        recipe=msgspec.Raw(_recipe_encoder.encode(recipe)),
        max_retries=0,  # a failed task stays failed, as in VirtShell
        lease_s=LEASE_S,
    )
    done = await submit(state, principal, sub)
    if kind_of(body.status) != "pending":
        await update_task(state, principal, done.job_id, TaskUpdate(status=body.status, log=body.log))
    return done.job_id


async def update_task(state: State, principal: Principal, task_id: str, body: TaskUpdate) -> None:
    """Record a reported status, claiming the task first when it is still queued.

    Raises:
        TaskError: No such task, the caller may not change it, it ended, a Conveyor worker runs
            it, or another dispatcher claimed it first.
    """
    job = await _readable(state, principal, task_id)
    await check_access_to(state, principal, job.id, write=True)
    kind = kind_of(body.status)
    if job.state in TERMINAL:
        raise TaskError(f"task {job.id} has ended ({shown_status(job.state, None)}); create a new task")
    worker_id = claims_worker(principal)
    if job.state in LEASED:
        if job.worker_id != worker_id or job.lease_id is None:
            raise TaskError(
                f"task {job.id} is held by another dispatcher or a Conveyor worker; only its holder reports"
            )
        lease_id = job.lease_id
        await leases.heartbeat(state, worker_id, Heartbeat(leases=[lease_id]))
    elif kind == "pending":
        return  # still pending: nothing to claim, nothing changes
    else:
        lease_id = await _claim(state, worker_id, job)
    lease = await output.fence(state, worker_id, lease_id)
    line = encode_report(body.status, body.log, datetime.now(UTC))
    chunk = LogChunk(job_id=job.id, lease_id=lease_id, attempt=lease.attempt, task="", offset=0, data=line)
    await state["log_writer"].append_at_end(chunk)
    if kind in ("succeeded", "failed"):
        await leases.finish_run(state, worker_id, lease_id, RunFinish(result=kind))
    await _caught_up(state)


async def _caught_up(state: State) -> None:
    """Read-your-writes: wait (bounded) until the scheduler has folded the run's events and the
    collector has the status line, so a GET right after shows the report."""
    events, logs = await asyncio.gather(state["js"].stream_info(EVENTS_STREAM), state["js"].stream_info(LOGS_STREAM))
    await asyncio.gather(
        state["watcher"].wait_for(events.state.last_seq, state["write_wait_s"]),
        state["collector"].wait_for(logs.state.last_seq, state["write_wait_s"]),
    )


async def _claim(state: State, worker_id: str, job: JobView) -> str:
    await ensure_service_worker(state, worker_id, f"virtshell-{worker_id[:8]}", (LABEL,), capacity=1_000_000)
    leased = await leases.claim(state, worker_id, job.id)
    if leased is None:
        raise TaskError(f"task {job.id} is not pending: another dispatcher or worker took it first")
    await leases.start_run(state, worker_id, leased.lease_id)
    return leased.lease_id


async def delete_task(state: State, principal: Principal, task_id: str) -> None:
    """Delete the task's job (its events stay).

    Raises:
        TaskError: No such task, or the caller may not change it.
    """
    job = await _readable(state, principal, task_id)
    await check_access_to(state, principal, job.id, write=True)
    await job_commands.delete_job(state, principal.user_id, job.id)


async def delete_all(state: State, principal: Principal, project: str) -> int:
    """Delete every task the caller may change (the real server's ``DELETE /tasks/``)."""
    deleted = 0
    for job in await _jobs(state, principal, project):
        try:
            await check_access_to(state, principal, job.id, write=True)
        except Exception:
            continue
        await job_commands.delete_job(state, principal.user_id, job.id)
        deleted += 1
    return deleted


async def get_task(state: State, principal: Principal, task_id: str) -> TaskDoc:
    """The task as the caller may read it.

    Raises:
        TaskError: No such task (or one the caller may not read).
    """
    return await task_doc(state, await _readable(state, principal, task_id))


async def list_tasks(state: State, principal: Principal, project: str, status: str | None = None) -> list[TaskDoc]:
    """The tasks the caller may read, newest first; only those showing ``status`` when given."""
    docs = [await task_doc(state, job) for job in await _jobs(state, principal, project)]
    return [d for d in docs if status is None or d.status == status]


async def _jobs(state: State, principal: Principal, project: str) -> list[JobView]:
    viewer = None if principal.has_scope("admin") else principal.user_id
    filters = JobFilter(project=project, tag=LABEL, viewer=viewer)
    found: list[JobView] = []
    before: int | None = None
    while True:
        page, cursor = await state["reader"].list(filters, limit=_PAGE, before_seq=before)
        found += [j for j in page if isinstance(j.payload, RecipeView)]
        if cursor is None:
            return found
        before = decode_cursor(cursor)


async def _readable(state: State, principal: Principal, task_id: str) -> JobView:
    try:
        await check_access_to(state, principal, task_id, write=False)
    except NotFoundError as exc:
        raise TaskError(f"task {task_id} not found") from exc
    job = await state["reader"].get(task_id)
    if job is None or LABEL not in job.tags or not isinstance(job.payload, RecipeView):
        raise TaskError(f"task {task_id} not found")
    return job


def _recipe(job: JobView) -> Recipe:
    assert isinstance(job.payload, RecipeView)
    try:
        return msgspec.convert(job.payload.recipe, RecipeDoc).virtshell
    except msgspec.ValidationError:
        return Recipe()


async def _reports(state: State, job: JobView) -> list[Report]:
    if job.attempts == 0:
        return []
    info = await state["logs"].log_info(job.id, "", None)
    if info is None:
        return []
    pieces = [piece async for _, piece in state["logs"].chunks(job.id, info.attempt, "", 0, MAX_LOG_READ)]
    return parse_reports(b"".join(pieces))


def _seconds(at: datetime) -> str:
    return str(int(at.timestamp()))


async def task_doc(state: State, job: JobView) -> TaskDoc:
    """The document's representation of the task's job."""
    recipe = _recipe(job)
    steps = [(recipe.status, job.created_at, recipe.log)]
    steps += [(r.status, r.at, r.log) for r in await _reports(state, job)]
    last_status, last_at, last_log = steps[-1]
    return TaskDoc(
        uuid=job.id,
        description=recipe.description,
        status=shown_status(job.state, last_status),
        type=recipe.type,
        object_uuid=recipe.object_uuid,
        created=Created(at=_seconds(job.created_at), by=job.owner),
        last_update=_seconds(max(last_at, job.updated_at)),
        log=last_log,
        status_history=[(status, at.isoformat(), log) for status, at, log in steps[:-1]],
    )
