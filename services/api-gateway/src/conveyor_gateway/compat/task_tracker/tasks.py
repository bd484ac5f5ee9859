"""``/task/submit``, ``/task/bulk_submit``, ``/task/get/:project`` and ``/task/release``: a task is
a Conveyor job whose recipe payload is the task's recipe string.

- Submit: ``hash_u64`` (the document's ``hash64`` too) or ``unique_string`` hashed as the server
  did becomes the job's dedupe key, scoped to the project whoever submits; a used one is refused
  (400) and stores nothing. Submitting needs granted ``submit`` access (task_tracker's rule).
- Get: a lease on one job of that project (the scheduler's order: priority, then fair share);
  a worker that already voted on a quorum task is not handed it again.
- Release: 0 (OK) finishes the run (a vote when the task needs several), 1 (FAIL) fails it
  (retried until its runs are used), 2 (SKIP) gives it back uncounted.
"""

import time
import weakref
from datetime import UTC, datetime
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events.scheduler_api import ReportResult

from ...core.bodies import JobSubmission
from ...core.context import State
from ...core.leases import finish_run, lease_numbered
from ...core.numbered import NumberedProject, job_by_seq, project_by_seq, worker_by_seq
from ...core.rate_peek import assign_wait_s
from ...core.submit import submit, submit_batch
from ...core.worker_bodies import LeaseAsk, RunFinish
from ...core.worker_submit import worker_principal
from ...errors import ForbiddenError, LeaseNotCurrentError, WorkerPausedError
from .auth import TtWorker, worker_of
from .envelope import TtError, reply
from .held import Held, held_tasks
from .siphash import unique_string_hash
from .views import task_view
from .wire import BULK_MAX_BODY, BulkSubmit, ReleaseTask, SubmitTask, read_body

DEDUPE_SCOPE: Final = "task_tracker"
_COLLISION: Final = 'pq: duplicate key value violates unique constraint "task_project_hash64_key"'
_RESULTS: Final[dict[int, ReportResult]] = {0: "succeeded", 1: "failed", 2: "skipped"}
_NOT_CLOSED: Final = "Task was not marked as closed"
_MAX_LEASE_S: Final = 3600
_MIN_LEASE_S: Final = 5


def _valid(ask: SubmitTask) -> bool:
    """task_tracker's rule, plus Conveyor's bounds (at most 16 agreeing workers)."""
    hashed = ask.hash_u64 or ask.hash64
    return (
        ask.max_retries >= 0
        and len(ask.recipe) > 0
        and not (hashed and ask.unique_string)
        and ask.project != 0
        and 0 <= ask.verification_count <= 16
    )


def dedupe_key(ask: SubmitTask) -> str | None:
    """The job's dedupe key: the task's 64-bit hash (0: none, as the server stored NULL)."""
    value = unique_string_hash(ask.unique_string) if ask.unique_string else (ask.hash_u64 or ask.hash64)
    return f"tt:{value}" if value else None


def submission(ask: SubmitTask, project: str) -> JobSubmission:
    """The Conveyor submission of a valid task (``_valid``)."""
    mat = ask.max_assign_time
    return JobSubmission(
        project=project,
        recipe=msgspec.Raw(msgspec.json.encode(ask.recipe)),
        priority=max(-1000, min(1000, ask.priority)),
        max_retries=max(0, min(100, ask.max_retries - 1)),
        lease_s=max(_MIN_LEASE_S, min(_MAX_LEASE_S, mat)) if mat > 0 else _MAX_LEASE_S,
        dedupe_key=dedupe_key(ask),
        verification=max(1, ask.verification_count),
    )


async def _project(state: State, number: int) -> NumberedProject:
    found = await project_by_seq(state, number) if 0 < number < 2**63 else None
    if found is None:
        raise TtError("Project not found", 404)
    return found


# A drone asks for a task of the same project over and over: its row is kept for a second
# (per gateway), since the scheduler enforces pausing, visibility and access itself.
_PROJECT_TTL_S: Final = 1.0
_projects_seen: Final[weakref.WeakKeyDictionary[object, dict[int, tuple[float, NumberedProject]]]] = (
    weakref.WeakKeyDictionary()
)


async def _assign_project(state: State, number: int) -> NumberedProject:
    seen = _projects_seen.setdefault(state["workers"], {})
    now = time.monotonic()
    hit = seen.get(number)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = await _project(state, number)
    if len(seen) > 10_000:
        seen.clear()
    seen[number] = (now + _PROJECT_TTL_S, found)
    return found


async def submit_task(request: Request) -> Response:
    state: State = request.scope["state"]
    worker = await worker_of(request, 401)
    ask = await read_body(request, SubmitTask)
    if not _valid(ask):
        raise TtError("Invalid task")
    project = await _project(state, ask.project)
    try:
        done = await submit(
            state, worker_principal(worker.id), submission(ask, project.doc.name), dedupe_scope=DEDUPE_SCOPE
        )
    except ForbiddenError:
        raise TtError("unauthorized task submit") from None
    if not done.created:
        raise TtError(_COLLISION)
    return reply()


async def bulk_submit(request: Request) -> Response:
    state: State = request.scope["state"]
    worker = await worker_of(request, 401)
    ask = await read_body(request, BulkSubmit, BULK_MAX_BODY)
    if not ask.requests:
        raise TtError("Could not parse request")
    if not all(_valid(r) for r in ask.requests):
        raise TtError("Invalid request")
    if len(ask.requests) > 1000:
        raise TtError("Invalid request: at most 1000 tasks in one bulk submit")
    if any(r.project != ask.requests[0].project for r in ask.requests):
        raise TtError("All the tasks in a bulk submit must be of the same project")
    project = await _project(state, ask.requests[0].project)
    subs = [submission(r, project.doc.name) for r in ask.requests]
    try:
        await submit_batch(state, worker_principal(worker.id), subs, dedupe_scope=DEDUPE_SCOPE)
    except ForbiddenError:
        raise TtError("unauthorized task submit") from None
    return reply()


async def get_task(request: Request) -> Response:
    state: State = request.scope["state"]
    worker = await worker_of(request, 403)
    text = request.path_params["project"]
    number = int(text) if text.isdigit() and len(text) < 19 else 0
    if number <= 0:
        raise TtError("Invalid project id")
    project = await _assign_project(state, number)
    wait_s = await assign_wait_s(state, project.doc.name, project.doc.assign_rate, project.doc.assign_burst)
    if wait_s > 0:
        me = await worker_by_seq(state, worker.seq)
        if me is not None and me.mode == "paused":  # task_tracker said so before the rate
            raise TtError("A manager has paused you")
        raise TtError("Too many requests", 429, rate_limit_delay=wait_s)
    try:
        leased = await lease_numbered(state, worker.id, LeaseAsk(max=1, wait_s=0), project=project.doc.name)
    except WorkerPausedError:
        raise TtError("A manager has paused you") from None
    if not leased:
        return reply(ok=False, message="No task available")
    lease, seq = leased[0]
    held = Held(lease_id=lease.lease_id, job_id=lease.job.id, attempt=lease.attempt, leased_at=datetime.now(UTC))
    held_tasks(state["workers"]).put(worker.id, seq, held)
    return reply({"task": task_view(lease.job, seq, worker.seq, project)})


async def find_lease(state: State, worker: TtWorker, task: int) -> Held | None:
    """The worker's current lease on task ``task``: remembered here, else in the projection."""
    held = held_tasks(state["workers"]).get(worker.id, task)
    if held is not None:
        return held
    job = await job_by_seq(state, task) if 0 < task < 2**63 else None
    if job is None or job.worker_id != worker.id or job.lease_id is None or job.state not in ("assigned", "running"):
        return None
    return Held(lease_id=job.lease_id, job_id=job.id, attempt=job.attempts, leased_at=job.updated_at)


async def release_task(request: Request) -> Response:
    state: State = request.scope["state"]
    worker = await worker_of(request, 403)
    ask = await read_body(request, ReleaseTask)
    if ask.task_id == 0:
        raise TtError("Invalid request")
    result = _RESULTS.get(ask.result)
    held = await find_lease(state, worker, ask.task_id)
    updated = False
    if result is not None and held is not None:
        done = RunFinish(result=result, verification=str(ask.verification), started_at=held.leased_at)
        try:
            after = await finish_run(state, worker.id, held.lease_id, done)
        except LeaseNotCurrentError:
            after = None
        held_tasks(state["workers"]).pop(worker.id, ask.task_id)
        updated = after is not None and (result != "succeeded" or after == "succeeded")
    if updated:
        return reply({"updated": True})
    return reply({"updated": False}, message=_NOT_CLOSED)


ROUTES: Final = [
    Route("/task/submit", submit_task, methods=["POST"]),
    Route("/task/bulk_submit", bulk_submit, methods=["POST"]),
    Route("/task/get/{project}", get_task, methods=["GET"]),
    Route("/task/release", release_task, methods=["POST"]),
]
