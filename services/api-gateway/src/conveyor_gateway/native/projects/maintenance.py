"""Project maintenance (the ``maintenance`` role): reset failed jobs, reclaim assigned ones, hard
reset (``core.maintenance``); 200 once the scheduler has applied them all, or 202 past the write wait."""

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.context import State
from ...core.maintenance import ACTIONS, Action, maintain
from ...core.worker_bodies import NoFields
from ...http.access import caller_id
from ...http.plumbing import json_response, read_json_body
from ...http.validation import decode_body
from .routes import require_role, visible_project


def _maintenance_endpoint(action: Action) -> Callable[[Request], Awaitable[Response]]:
    states, _ = ACTIONS[action]

    async def endpoint(request: Request) -> Response:
        state: State = request.scope["state"]
        project, roles = await visible_project(request)
        decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), NoFields)
        require_role(roles, "maintenance")
        count, is_applied = await maintain(state, project.name, action, caller_id(request))
        body = {"project": project.name, "action": action, "jobs": count}
        return json_response(body, 200 if is_applied else 202)

    endpoint.__doc__ = f"``POST /v1/projects/{{name}}/maintenance/{action}``: jobs in {', '.join(states)}."
    return endpoint


MAINTENANCE_ROUTES: Final = [
    Route(f"/v1/projects/{{project}}/maintenance/{action}", _maintenance_endpoint(action), methods=["POST"])
    for action in ACTIONS
]
