"""The jobs endpoints of the native API: submit, read, list, children (decode -> use case -> encode)."""

from typing import Final

from msgspec.structs import replace
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import parse_uuid
from conveyor_events.states import JOB_STATES

from ...core.bodies import JobAccepted, JobPage, JobSubmission
from ...core.context import State
from ...core.reader import JobFilter, decode_cursor
from ...core.reads import existing_job
from ...core.submit import SubmissionUnconfirmedError, submit
from ...errors import FieldError, InvalidQueryError
from ...http.access import caller
from ...http.outage import stored_anyway, unconfirmed_submission
from ...http.plumbing import json_response, page_limit, path_id, prefers_async, read_json_body
from ...http.validation import decode_body

_LIST_PARAMS: Final = frozenset({"state", "project", "tag", "owner", "parent", "limit", "cursor"})


async def submit_job(request: Request) -> Response:
    """``POST /v1/jobs``: 201 with the job; 200 with the existing job for a used dedupe key;
    202 with ``Location`` when the scheduler has not caught up within the write wait, or at once
    when the client sent ``Prefer: respond-async``."""
    state: State = request.scope["state"]
    body = await read_json_body(request, state["max_body_bytes"])
    sub = decode_body(body, JobSubmission)
    is_async = prefers_async(request)
    try:
        done = await submit(state, caller(request), sub, wait=not is_async)
    except SubmissionUnconfirmedError as exc:
        return unconfirmed_submission(exc.job_id)  # NATS away: the job may yet be stored
    if done.outage is not None:
        return stored_anyway(done.job_id, done.outage)  # stored: a 5xx would make the client submit it twice
    location = {"Location": f"/v1/jobs/{done.job_id}"}
    if done.job is not None:
        return json_response(done.job, 201 if done.created else 200, location)
    if done.created and is_async:
        return json_response(JobAccepted(id=done.job_id), 202, {**location, "Preference-Applied": "respond-async"})
    return json_response(JobAccepted(id=done.job_id), 202, location)


async def get_job(request: Request) -> Response:
    """``GET /v1/jobs/{id}``."""
    state: State = request.scope["state"]
    return json_response(await existing_job(state, path_id(request, "job_id", "job")))


def _list_query(request: Request) -> tuple[JobFilter, int, int | None]:
    params = request.query_params
    errors = [
        FieldError(pointer=k, detail=f"unknown parameter; use {', '.join(sorted(_LIST_PARAMS))}")
        for k in params
        if k not in _LIST_PARAMS
    ]
    state = params.get("state")
    if state is not None and state not in JOB_STATES:
        errors.append(FieldError(pointer="state", detail=f"one of {', '.join(JOB_STATES)}"))
    parent = params.get("parent")
    if parent is not None and parse_uuid(parent) is None:
        errors.append(FieldError(pointer="parent", detail="a job id (UUID)"))
    for key in ("project", "tag", "owner"):
        value = params.get(key)
        if value is not None and not 0 < len(value) <= 128:
            errors.append(FieldError(pointer=key, detail="1 to 128 characters"))
    limit = page_limit(params, errors)
    if errors:
        raise InvalidQueryError("invalid query parameters", errors=errors)
    cursor = params.get("cursor")
    before = decode_cursor(cursor) if cursor else None
    filters = JobFilter(
        state=state,
        project=params.get("project"),
        tag=params.get("tag"),
        owner=params.get("owner"),
        parent=parse_uuid(parent) if parent is not None else None,
    )
    return filters, limit, before


def _visible_to_caller(request: Request, filters: JobFilter) -> JobFilter:
    """Only the jobs the caller may read (an admin reads all)."""
    principal = caller(request)
    return filters if principal.has_scope("admin") else replace(filters, viewer=principal.user_id)


async def list_jobs(request: Request) -> Response:
    """``GET /v1/jobs?state=&project=&tag=&owner=&parent=&limit=&cursor=``, newest first."""
    state: State = request.scope["state"]
    filters, limit, before = _list_query(request)
    items, next_cursor = await state["reader"].list(
        _visible_to_caller(request, filters), limit=limit, before_seq=before
    )
    return json_response(JobPage(items=items, next_cursor=next_cursor))


async def list_children(request: Request) -> Response:
    """``GET /v1/jobs/{id}/children``: the job's direct children, newest first, with the same
    filters and paging as ``GET /v1/jobs``."""
    state: State = request.scope["state"]
    job_id = path_id(request, "job_id", "job")
    await existing_job(state, job_id)
    filters, limit, before = _list_query(request)
    filters = _visible_to_caller(request, replace(filters, parent=job_id))
    items, next_cursor = await state["reader"].list(filters, limit=limit, before_seq=before)
    return json_response(JobPage(items=items, next_cursor=next_cursor))


ROUTES: Final = [
    Route("/v1/jobs", submit_job, methods=["POST"]),
    Route("/v1/jobs", list_jobs, methods=["GET"]),
    Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/v1/jobs/{job_id}/children", list_children, methods=["GET"]),
]
