"""coalition's actions on lists of jobs (dependencies, delete, reset, start, pause), the filter
lists, the events, and the legacy ``/xmlrpc/addjob``."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from conveyor_events.states import FAILED

from ...core import job_commands, job_edits
from ...core.context import State
from ...core.job_access import check_access_to
from ...core.trees import descendants
from ...http.plumbing import json_response
from .api_jobs import (
    PROJECT,
    BadRequest,
    UnknownJob,
    _dependency_ids,
    body_json,
    create,
    existing,
    job_ids,
    job_number,
    numbers,
    reader,
    run_command,
)
from .auth import coalition_caller
from .job_forms import NewJob
from .words import PRIORITY_TAG, STATES, USER_TAG, epoch, state_word

_WHERE_REFUSED: Final = (
    "where_clause is not supported: Conveyor never passes client text to SQL. Filter with"
    " GET /api/jobs/{id}/children, the filter lists (/api/jobs/users/, states/, workers/, priorities/,"
    " affinities/) or the native API's GET /v1/jobs?state=&project=&tag=&owner=&parent="
)


async def set_dependencies(request: Request) -> Response:
    """``POST /api/jobs/{id}/dependencies``: ``[ids]`` replace the job's dependencies."""
    principal = await coalition_caller(request, "jobs:write")
    state: State = request.scope["state"]
    _, job = await existing(state, job_number(request.path_params["id"]), principal, write=True)
    deps = await _dependency_ids(state, numbers(await body_json(request)))
    await job_edits.set_dependencies(state, principal, job.id, deps)
    return json_response(1)


async def _listed(request: Request) -> tuple[Any, State, list[tuple[int, Any]]]:
    principal = await coalition_caller(request, "jobs:write")
    state: State = request.scope["state"]
    given = numbers(await body_json(request))
    ids = await job_ids(state, given)
    rows = await reader(state).jobs_by_id([ids[n] for n in given])
    for _, job in rows:  # every one may be changed, or none is
        await check_access_to(state, principal, job.id, write=True)
    return principal, state, rows


async def delete_jobs(request: Request) -> Response:
    """``DELETE /api/jobs``: ``[ids]``, each with everything below it."""
    principal, state, rows = await _listed(request)
    for _, job in rows:
        await job_commands.delete_job(state, principal.user_id, job.id)
    return json_response(1)


async def reset_jobs(request: Request) -> Response:
    """``POST /api/resetjobs``: ``[ids]`` back to WAITING, with everything below them."""
    principal, state, rows = await _listed(request)
    for _, job in rows:
        await job_commands.command_job(state, principal.user_id, job.id, "reset")
    return json_response(1)


async def reset_error_jobs(request: Request) -> Response:
    """``POST /api/reseterrorjobs``: only the jobs in ERROR, among ``[ids]`` and below them."""
    principal, state, rows = await _listed(request)
    for _, job in rows:
        below = [d for d, s in await descendants(state, job.id) if s in FAILED]
        failed = [j for _, j in await reader(state).jobs_by_id(below) if j.payload is not None]
        if job.payload is not None and job.state in FAILED:
            failed.append(job)
        for one in failed:
            await job_commands.command_job(state, principal.user_id, one.id, "reset")
    return json_response(1)


async def start_jobs(request: Request) -> Response:
    """``POST /api/startjobs``: paused or held jobs (and held ones below them) may run."""
    principal, state, rows = await _listed(request)
    for _, job in rows:
        below = [d for d, s in await descendants(state, job.id) if s == "pending"]
        for _, held in await reader(state).jobs_by_id(below):
            await run_command(state, principal, held, "start")
        await run_command(state, principal, job, "start")
    return json_response(1)


async def pause_jobs(request: Request) -> Response:
    """``POST /api/pausejobs``: ``[ids]`` and everything below them pause."""
    principal, state, rows = await _listed(request)
    for _, job in rows:
        await run_command(state, principal, job, "pause")
    return json_response(1)


async def where_refused(request: Request) -> Response:
    """``/api/jobs/where/`` and ``/api/jobs/count/where/``: refused (raw SQL from the client)."""
    await coalition_caller(request, "jobs:read")
    return PlainTextResponse(_WHERE_REFUSED, status_code=400)


def filter_list(what: str) -> Callable[[Request], Awaitable[Response]]:
    """``/api/jobs/<what>/``: the endpoint of one filter list."""

    async def endpoint(request: Request) -> Response:
        return await _filter_list(request, what)

    return endpoint


async def _filter_list(request: Request, what: str) -> Response:
    """``/api/jobs/{users,states,workers,priorities,affinities}/``: the distinct values, sorted."""
    await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    found = reader(state)
    values: list[Any]
    if what == "users":
        values = await found.distinct_tags(PROJECT, USER_TAG)
    elif what == "states":
        present = {state_word(s, paused=paused) for s, paused in await found.states_in(PROJECT)}
        values = [s for s in STATES if s in present]
    elif what == "workers":
        values = await found.worker_names_in(PROJECT)
    elif what == "priorities":
        values = sorted(int(p) for p in await found.distinct_tags(PROJECT, PRIORITY_TAG) if p.isdigit())
    else:
        values = await found.distinct_labels(PROJECT)
    return json_response(values)


async def events(request: Request) -> Response:
    """``GET /api/events?job=&worker=&howlong=``: each job's latest run, newest first."""
    await coalition_caller(request, "jobs:read")
    state: State = request.scope["state"]
    params = request.query_params
    try:
        howlong = float(params.get("howlong", "-1"))
    except ValueError:
        raise BadRequest("howlong: seconds") from None
    job_filter = job_number(params["job"]) if params.get("job") else None
    since = datetime.now(UTC) - timedelta(seconds=howlong) if 0 <= howlong < 10 * 365 * 86_400 else None
    rows = await reader(state).runs_since(PROJECT, since)
    names = await reader(state).worker_names(list({j.worker_id for _, j in rows if j.worker_id}))
    found = []
    for seq, job in rows:
        worker = names.get(job.worker_id or "", "")
        if (job_filter is not None and seq != job_filter) or (params.get("worker") and worker != params["worker"]):
            continue
        assert job.started_at is not None
        end = job.finished_at or datetime.now(UTC)
        found.append({"id": seq, "worker": worker, "job_id": seq, "job_title": job.title,
                      "state": state_word(job.state, paused=job.paused), "start": epoch(job.started_at),
                      "duration": max(0, int((end - job.started_at).total_seconds()))})  # fmt: skip
    return json_response(sorted(found, key=lambda e: -e["start"]))


async def add_job(request: Request) -> Response:
    """``/xmlrpc/addjob?parent&title&cmd|command&...``: the new id as text, or ``-1``."""
    principal = await coalition_caller(request, "jobs:write")
    state: State = request.scope["state"]
    args = dict(request.query_params)
    if request.method == "POST":
        args.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    try:
        new = NewJob(
            parent=int(args.get("parent", "0") or 0),
            title=args.get("title", ""),
            command=args.get("cmd", args.get("command", "")),
            dir=args.get("dir", ""),
            environment=args.get("env", args.get("environment", "")),
            state=args.get("state", "WAITING") or "WAITING",
            paused=args.get("paused", "0") not in ("", "0", "false", "False"),
            timeout=float(args.get("timeout", "0") or 0),
            priority=int(args.get("priority", "1000") or 1000),
            affinity=args.get("affinity", ""),
            user=args.get("user", ""),
            url=args.get("url", ""),
            progress_pattern=args.get("localprogress", args.get("progress_pattern", "")),
            dependencies=args.get("dependencies", ""),
            retry=int(args.get("retry", "0") or 0),
        )
        return PlainTextResponse(str(await create(state, principal, new)))
    except (ValueError, BadRequest, UnknownJob):
        return PlainTextResponse("-1")
