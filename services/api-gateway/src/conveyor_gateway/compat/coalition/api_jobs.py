"""coalition's job API (``/api/jobs``...) over Conveyor's use cases: submit, edit, dependencies,
commands, delete, and the readers. Job ids are ``submitted_seq``; 0 is the root."""

import asyncio
from collections.abc import Sequence
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from conveyor_events import job_subject
from conveyor_events.states import FAILED, LEASED

from ...core import job_commands, job_edits, submit
from ...core.bodies import JobEdit, JobView
from ...core.context import State
from ...core.job_access import check_access_to
from ...core.reads import first_seq
from ...core.seq_reader import SeqReader, TreeCounts
from ...core.token_auth import Principal
from ...core.trees import descendants
from ...http.plumbing import json_response, read_raw_body
from .auth import coalition_caller
from .job_forms import Change, Context, FormError, NewJob, change, dependency_numbers, document, submission
from .words import coalition_priority, scheduler_priority

PROJECT: Final = "default"
_ROOT: Final = {
    "id": 0, "parent": 0, "title": "Root", "command": "", "dir": ".", "environment": "", "state": "WAITING",
    "worker": "", "start_time": 0, "duration": 0, "ping_time": 0, "run_done": 0, "retry": 0, "timeout": 0,
    "priority": 0, "affinity": "", "user": "", "finished": 0, "errors": 0, "working": 0, "url": "",
    "progress_pattern": "", "paused": 0,
}  # fmt: skip


class BadRequest(Exception):
    """Bad input, answered 400 with the message as text; nothing is stored."""


class UnknownJob(Exception):
    """No job with this id: answered 404."""


def reader(state: State) -> SeqReader:
    return SeqReader(state["reader"].pool)


async def body_json(request: Request) -> Any:
    state: State = request.scope["state"]
    raw = await read_raw_body(request, state["max_body_bytes"])
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None


def job_number(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise UnknownJob(f"no job {raw}")
    return int(raw)


def numbers(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise BadRequest("expected a JSON list of job ids")
    return list(value)


async def documents(state: State, rows: Sequence[tuple[int, JobView]]) -> list[dict[str, Any]]:
    """coalition's documents of ``rows``, with one query each for the ids, counters and progress."""
    jobs = [job for _, job in rows]
    related = {j.parent_id for j in jobs if j.parent_id} | {d for j in jobs for d in j.depends_on}
    seqs, names, counts, progress = await asyncio.gather(
        reader(state).seqs_of(list(related)),
        reader(state).worker_names(list({j.worker_id for j in jobs if j.worker_id})),
        reader(state).tree_counts([j.id for j in jobs if j.payload is None]),
        state["logs"].progress_of([j.id for j in jobs if j.payload is not None and j.attempts > 0]),
    )
    ctx = Context(seqs=seqs, worker_names=names, counts=counts, progress=progress)
    return [{**document(seq, job, ctx), "dependencies": sorted(seqs[d] for d in job.depends_on if d in seqs)}
            for seq, job in rows]  # fmt: skip


async def _root(state: State) -> dict[str, Any]:
    roots = await reader(state).roots(PROJECT)
    counts = await reader(state).tree_counts([j.id for _, j in roots])
    leaves = [j for _, j in roots if j.payload is not None]
    total = TreeCounts(
        total=sum(c.total for c in counts.values()) + len(leaves),
        finished=sum(c.finished for c in counts.values()) + sum(1 for j in leaves if j.state == "succeeded"),
        errors=sum(c.errors for c in counts.values()) + sum(1 for j in leaves if j.state in FAILED),
        working=sum(c.working for c in counts.values()) + sum(1 for j in leaves if j.state in LEASED),
    )
    return {**_ROOT, "total": total.total, "total_finished": total.finished, "total_errors": total.errors,
            "total_working": total.working, "dependencies": []}  # fmt: skip


async def existing(
    state: State, number: int, principal: Principal | None = None, *, write: bool = False
) -> tuple[int, JobView]:
    """The job ``number``; with ``principal``, one it may read (or, with ``write``, change).

    Raises:
        UnknownJob: No such job.
        JobNotFoundError: ``principal`` may not read it (answered as a missing one).
        ForbiddenError: ``principal`` may read it but not change it.
    """
    found = await reader(state).job_at(number)
    if found is None:
        raise UnknownJob(f"no job {number}")
    if principal is not None:
        await check_access_to(state, principal, found[1].id, write=write)
    return found


async def visible(state: State, principal: Principal, rows: list[tuple[int, JobView]]) -> list[tuple[int, JobView]]:
    """The rows ``principal`` may read (all for an admin)."""
    if principal.has_scope("admin") or not rows:
        return rows
    readable = await state["reader"].readable({job.id for _, job in rows}, principal.user_id)
    return [(seq, job) for seq, job in rows if job.id in readable]


async def job_ids(state: State, given: Sequence[int]) -> dict[int, str]:
    """The job id of each number; every one must exist."""
    found = await reader(state).ids_at(list(given))
    missing = [n for n in given if n not in found]
    if missing:
        raise UnknownJob(f"no job {', '.join(map(str, missing))}")
    return found


async def list_roots(request: Request) -> Response:
    """``GET /api/jobs``: the jobs at the root."""
    principal = await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    return json_response(await documents(state, await visible(state, principal, await reader(state).roots(PROJECT))))


async def get_job(request: Request) -> Response:
    """``GET /api/jobs/{id}``: the job with its ``dependencies``."""
    principal = await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    number = job_number(request.path_params["id"])
    if number == 0:
        return json_response(await _root(state))
    return json_response((await documents(state, [await existing(state, number, principal)]))[0])


async def _children_rows(state: State, principal: Principal, number: int) -> list[tuple[int, JobView]]:
    if number == 0:
        return await visible(state, principal, await reader(state).roots(PROJECT))
    _, job = await existing(state, number, principal)
    return await visible(state, principal, await reader(state).children(job.id))


async def get_children(request: Request) -> Response:
    """``GET /api/jobs/{id}/children``."""
    principal = await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    rows = await _children_rows(state, principal, job_number(request.path_params["id"]))
    return json_response(await documents(state, rows))


async def get_dependencies(request: Request) -> Response:
    """``GET /api/jobs/{id}/dependencies``: the jobs it waits for."""
    principal = await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    number = job_number(request.path_params["id"])
    if number == 0:
        return json_response([])
    _, job = await existing(state, number, principal)
    rows = await visible(state, principal, await reader(state).jobs_by_id(job.depends_on))
    return json_response(await documents(state, rows))


async def get_children_dependencies(request: Request) -> Response:
    """``GET /api/jobs/{id}/childrendependencies``: ``[{id, dependencies: [ids]}]`` of its children."""
    principal = await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    rows = await _children_rows(state, principal, job_number(request.path_params["id"]))
    seqs = await reader(state).seqs_of([d for _, j in rows for d in j.depends_on])
    return json_response([{"id": seq, "dependencies": sorted(seqs[d] for d in j.depends_on if d in seqs)}
                          for seq, j in rows])  # fmt: skip


async def get_log(request: Request) -> Response:
    """``GET /api/jobs/{id}/log``: the latest run's log as a JSON string."""
    principal = await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    _, job = await existing(state, job_number(request.path_params["id"]), principal)
    info = await state["logs"].log_info(job.id, "", None)
    if info is None:
        return json_response("")
    pieces = [data async for _, data in state["logs"].chunks(job.id, info.attempt, "", 0)]
    return json_response(b"".join(pieces).decode("utf-8", "replace"))


async def _dependency_ids(state: State, value: Any) -> list[str]:
    given = dependency_numbers(value) if isinstance(value, str) else numbers(value)
    found = await job_ids(state, given)
    return [found[n] for n in given]


async def create(state: State, principal: Principal, new: NewJob) -> int:
    """Submit ``new``; its id (``submitted_seq``)."""
    parent = (await existing(state, new.parent, principal, write=True))[1] if new.parent else None
    depends_on = await _dependency_ids(state, new.dependencies)
    try:
        sub = submission(new, project=PROJECT, parent=parent, depends_on=depends_on)
    except FormError as exc:
        raise BadRequest(str(exc)) from None
    done = await submit.submit(state, principal, sub)
    return await first_seq(state, job_subject(done.job_id))


async def put_job(request: Request) -> Response:
    """``PUT /api/jobs``: create a job (a group when ``command`` is empty); its id."""
    principal = await coalition_caller(request, "jobs:write")
    state: State = request.scope["state"]
    raw = await read_raw_body(request, state["max_body_bytes"])
    try:
        new = msgspec.json.decode(raw, type=NewJob, strict=False)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc)) from None
    return json_response(await create(state, principal, new))


async def _top(state: State, job: JobView) -> tuple[int, bool]:
    """The job's top-level priority and whether it is at the top."""
    if job.parent_id is None:
        return coalition_priority(job), True
    return max(0, min(255, job.priority // 7 + 128)), False


async def edit_jobs(request: Request) -> Response:
    """``POST /api/jobs``: ``{id: {attr: value}}``, every change checked before any is applied."""
    principal = await coalition_caller(request, "jobs:write")
    state: State = request.scope["state"]
    body = await body_json(request)
    if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
        raise BadRequest("expected {job id: {attribute: value}}")
    plans: list[tuple[JobView, Change]] = []
    for raw, attrs in body.items():
        _, job = await existing(state, job_number(str(raw)), principal, write=True)
        top, is_top = await _top(state, job)
        try:
            plans.append((job, change(job, attrs, top=top, is_top=is_top)))
        except FormError as exc:
            raise BadRequest(f"job {raw}: {exc}") from None
    dependency_ids = [await _dependency_ids(state, p.dependencies) if p.dependencies is not None else None
                      for _, p in plans]  # fmt: skip
    for (job, plan), deps in zip(plans, dependency_ids, strict=True):
        await _apply(state, principal, job, plan, deps)
    return json_response(1)


async def _apply(state: State, principal: Principal, job: JobView, plan: Change, deps: list[str] | None) -> None:
    if plan.edit is not None:
        await job_edits.edit_job(state, principal.user_id, job.id, plan.edit)
        if plan.edit.priority is not None and job.parent_id is None:
            await _spread_priority(state, principal, job.id, coalition_priority_of(plan))
    if deps is not None:
        await job_edits.set_dependencies(state, principal, job.id, deps)
    if plan.command is not None:
        await run_command(state, principal, job, plan.command)


def coalition_priority_of(plan: Change) -> int:
    assert plan.edit is not None and plan.edit.tags is not None
    return next(int(t.split("=", 1)[1]) for t in plan.edit.tags if t.startswith("coalition.priority="))


async def _spread_priority(state: State, principal: Principal, job_id: str, top: int) -> None:
    """A top-level job's new priority moves every job below it (it dominates theirs)."""
    below = [d for d, _ in await descendants(state, job_id)]
    for _, child in await reader(state).jobs_by_id(below):
        priority = scheduler_priority(top, coalition_priority(child), is_top=False)
        if priority != child.priority:
            edit = msgspec.convert({"priority": priority}, JobEdit)
            await job_edits.edit_job(state, principal.user_id, child.id, edit)


async def run_command(state: State, principal: Principal, job: JobView, name: str) -> None:
    """pause, resume, start (a held job) or reset; a start of a job already running is no error."""
    if name == "start" and job.state != "pending":
        name = "resume"
    if name == "resume" and not job.paused:
        return
    if name in ("pause", "resume") and job.state in ("succeeded", "failed", "timed_out", "cancelled"):
        return  # coalition leaves a finished job as it is
    await job_commands.command_job(state, principal.user_id, job.id, name)  # type: ignore[arg-type]
