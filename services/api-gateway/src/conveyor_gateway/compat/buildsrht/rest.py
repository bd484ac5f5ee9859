"""builds.sr.ht's legacy REST API (``/api/jobs``...), as its PHP and Go clients call it."""

from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ...core.bodies import JobView, ManifestView
from ...core.context import State
from ...core.job_numbers import count_owned, owned_page
from ...http.plumbing import json_response, read_raw_body
from .auth import caller, optional_caller
from .builds import (
    GROUP_LABEL,
    BuildRequest,
    BuildSettings,
    build_of,
    cancel_build,
    check_tags,
    start_build,
    submit_build,
    user_ids,
)
from .errors import BuildsError
from .manifest import manifest_yaml, parse_manifest, read_triggers
from .wire import RESULTS_PER_PAGE, job_json, page_json

_decoder: Final = msgspec.json.Decoder()


def settings_of(request: Request) -> BuildSettings:
    settings: BuildSettings = request.app.state.builds
    return settings


def base_of(request: Request) -> str:
    """The façade's own address (with its mount prefix), ending in ``/``: Starlette's ``base_url``
    holds the server's root path but not the prefixes of mounts, which ``root_path`` adds."""
    root: str = request.scope.get("root_path", "")
    server_root: str = request.scope.get("app_root_path", "")
    mount = root.removeprefix(server_root) if root.startswith(server_root) else root
    return f"{str(request.base_url).rstrip('/')}{mount}/"


async def json_body(request: Request) -> dict[str, Any]:
    state: State = request.scope["state"]
    raw = await read_raw_body(request, state["max_body_bytes"])
    try:
        body = _decoder.decode(raw or b"{}")
    except msgspec.DecodeError:
        raise BuildsError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise BuildsError(400, "the body must be a JSON object")
    return body


def number_param(request: Request, name: str = "job_id") -> int:
    raw: str = request.path_params[name]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BuildsError(404, "Not found")
    return int(raw)


async def owner_name(state: State, user_id: str) -> str:
    user = await state["identity"].user(user_id)
    return user.name if user is not None else user_id


async def job_document(request: Request, job: JobView, number: int) -> dict[str, Any]:
    return job_json(job, number, await owner_name(request.scope["state"], job.owner), base_of(request))


async def build_request(state: State, body: dict[str, Any], *, email_enabled: bool) -> BuildRequest:
    """A ``POST /api/jobs`` body (or GraphQL ``submit``'s arguments) checked field by field."""
    manifest = parse_manifest(body.get("manifest"), email_enabled=email_enabled)
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 4096:
        raise BuildsError(400, "note must be a string of at most 4096 characters", "note")
    execute = body.get("execute", True)
    if not isinstance(execute, bool):
        raise BuildsError(400, "execute must be a boolean", "execute")
    problems: list[tuple[str | None, str]] = []
    triggers = read_triggers(body.get("triggers"), problems, "triggers", email_enabled=email_enabled)
    if problems:
        raise BuildsError.of(400, problems)
    read = body.get("access:read")
    write = body.get("access:write")
    return BuildRequest(
        manifest=manifest,
        note=note,
        tags=check_tags(body.get("tags")),
        read=await user_ids(state, read, "access:read", star=True) if read is not None else ("*",),
        write=await user_ids(state, write, "access:write", star=False) if write is not None else (),
        execute=execute,
        triggers=triggers,
    )


async def post_jobs(request: Request) -> Response:
    """``POST /api/jobs``: submit a manifest; the new job as ``GET /api/jobs/:id`` shows it."""
    principal = await caller(request, "jobs:write")
    state: State = request.scope["state"]
    body = await json_body(request)
    settings = settings_of(request)
    req = await build_request(state, body, email_enabled=settings.email_enabled)
    number, job = await submit_build(state, principal, req, origin=base_of(request), settings=settings)
    return json_response(await job_document(request, job, number))


async def get_jobs(request: Request) -> Response:
    """``GET /api/jobs?start=``: the caller's own jobs, newest first, 50 a page."""
    principal = await caller(request, "jobs:read")
    state: State = request.scope["state"]
    raw = request.query_params.get("start")
    start = int(raw) if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if raw is not None and start is None:
        raise BuildsError(400, "start must be a job id", "start")
    pool = state["reader"].pool
    page, next_start = await owned_page(
        pool, principal.user_id, limit=RESULTS_PER_PAGE, at_most=start, without_label=GROUP_LABEL
    )
    results = []
    for number, job_id in page:
        job = await state["reader"].get(job_id)
        if job is not None:
            results.append(await job_document(request, job, number))
    return json_response(
        page_json(results, next_start, await count_owned(pool, principal.user_id, without_label=GROUP_LABEL))
    )


async def get_job(request: Request) -> Response:
    """``GET /api/jobs/:id``."""
    principal = await caller(request, "jobs:read")
    number = number_param(request)
    job = await build_of(request.scope["state"], principal, number)
    return json_response(await job_document(request, job, number))


async def get_manifest(request: Request) -> Response:
    """``GET /api/jobs/:id/manifest``: text/plain, readable by whoever may read the job (the
    original answered anyone: a "TODO: ACLs")."""
    principal = await optional_caller(request, "jobs:read")
    job = await build_of(request.scope["state"], principal, number_param(request))
    text = manifest_yaml(job.payload, job.labels) if isinstance(job.payload, ManifestView) else ""
    return PlainTextResponse(text)


async def get_artifacts(request: Request) -> Response:
    """``GET /api/jobs/:id/artifacts``: the build's artifacts, sourcehut's list envelope."""
    principal = await caller(request, "jobs:read")
    state: State = request.scope["state"]
    number = number_param(request)
    job = await build_of(state, principal, number)
    entries = await state["logs"].artifacts(job.id)
    results = [
        {
            "name": e.path.rsplit("/", 1)[-1],
            "path": e.path,
            "size": e.size,
            "created": e.stored_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "url": f"{base_of(request)}artifacts/{number}/{e.path}",
        }
        for e in entries
    ]
    return json_response(page_json(results, None, len(results)))


async def post_start(request: Request) -> Response:
    """``POST /api/jobs/:id/start``: start a held (pending) build."""
    principal = await caller(request, "jobs:write")
    state: State = request.scope["state"]
    job = await build_of(state, principal, number_param(request), write=True)
    await start_build(state, principal, job)
    return json_response({})


async def post_cancel(request: Request) -> Response:
    """``POST /api/jobs/:id/cancel``."""
    principal = await caller(request, "jobs:write")
    state: State = request.scope["state"]
    job = await build_of(state, principal, number_param(request), write=True)
    await cancel_build(state, principal, job)
    return json_response({})


ROUTES: Final = [
    Route("/api/jobs", get_jobs, methods=["GET"]),
    Route("/api/jobs", post_jobs, methods=["POST"]),
    Route("/api/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/api/jobs/{job_id}/manifest", get_manifest, methods=["GET"]),
    Route("/api/jobs/{job_id}/artifacts", get_artifacts, methods=["GET"]),
    Route("/api/jobs/{job_id}/start", post_start, methods=["POST"]),
    Route("/api/jobs/{job_id}/cancel", post_cancel, methods=["POST"]),
]
