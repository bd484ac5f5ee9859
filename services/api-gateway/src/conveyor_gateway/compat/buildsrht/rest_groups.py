"""builds.sr.ht's legacy job-group API: ``POST /api/job-group``, ``GET /api/job-group/:id``,
``POST /api/job-group/:id/start`` and ``/cancel``."""

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.context import State
from ...http.plumbing import json_response
from .auth import caller
from .errors import BuildsError
from .groups import Group, cancel_group, create_group, group_of, group_status, start_group
from .manifest import read_triggers
from .rest import base_of, job_document, json_body, number_param, owner_name, settings_of
from .wire import owner_json, timestamp


async def group_document(request: Request, group: Group) -> dict[str, Any]:
    state: State = request.scope["state"]
    return {
        "id": group.number,
        "created": timestamp(group.job.created_at),
        "note": group.job.note or None,
        "status": group_status(group),
        "owner": owner_json(await owner_name(state, group.job.owner)),
        "jobs": [await job_document(request, job, number) for number, job in group.builds],
        "triggers": [],
    }


def _job_numbers(raw: object) -> list[int]:
    if not isinstance(raw, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in raw):
        raise BuildsError(400, "jobs must be a list of job ids", "jobs")
    return list(raw)


async def post_group(request: Request) -> Response:
    """``POST /api/job-group``: ``{jobs, note?, execute? (false), triggers?}``."""
    principal = await caller(request, "jobs:write")
    state: State = request.scope["state"]
    body = await json_body(request)
    numbers = _job_numbers(body.get("jobs"))
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 4096:
        raise BuildsError(400, "note must be a string of at most 4096 characters", "note")
    execute = body.get("execute", False)
    if not isinstance(execute, bool):
        raise BuildsError(400, "execute must be a boolean", "execute")
    settings = settings_of(request)
    problems: list[tuple[str | None, str]] = []
    triggers = read_triggers(body.get("triggers"), problems, "triggers", email_enabled=settings.email_enabled)
    for index, trigger in enumerate(triggers):
        if trigger.action != "email":  # as sourcehut: a group's triggers are emails
            problems.append((f"triggers[{index}].action", "a job group's triggers are emails"))
    if problems:
        raise BuildsError.of(400, problems)
    group = await create_group(
        state, principal, numbers, note, settings=settings, triggers=triggers, origin=base_of(request)
    )
    if execute:
        await start_group(state, principal, group)
        group = await group_of(state, principal, group.number)
    return json_response(await group_document(request, group))


async def get_group(request: Request) -> Response:
    """``GET /api/job-group/:id``."""
    principal = await caller(request, "jobs:read")
    group = await group_of(request.scope["state"], principal, number_param(request, "group_id"))
    return json_response(await group_document(request, group))


async def post_group_start(request: Request) -> Response:
    """``POST /api/job-group/:id/start``: start its held builds."""
    principal = await caller(request, "jobs:write")
    state: State = request.scope["state"]
    group = await group_of(state, principal, number_param(request, "group_id"), write=True)
    await start_group(state, principal, group)
    return json_response({})


async def post_group_cancel(request: Request) -> Response:
    """``POST /api/job-group/:id/cancel``: cancel its builds that have not ended."""
    principal = await caller(request, "jobs:write")
    state: State = request.scope["state"]
    group = await group_of(state, principal, number_param(request, "group_id"), write=True)
    await cancel_group(state, principal, group)
    return json_response({})


ROUTES: Final = [
    Route("/api/job-group", post_group, methods=["POST"]),
    Route("/api/job-group/{group_id}", get_group, methods=["GET"]),
    Route("/api/job-group/{group_id}/start", post_group_start, methods=["POST"]),
    Route("/api/job-group/{group_id}/cancel", post_group_cancel, methods=["POST"]),
]
