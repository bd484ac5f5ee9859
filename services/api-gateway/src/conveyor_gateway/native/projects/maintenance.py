"""Project maintenance (the ``maintenance`` role): reset failed jobs, reclaim assigned ones, hard
reset. Each appends one request event per job (the scheduler decides as for a single job) and
answers once the scheduler has applied them all, or 202 past the write wait."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import (
    Appended,
    JobDeleteRequested,
    JobEvent,
    JobResetRequested,
    PendingAppend,
    job_subject,
    new_uuid7,
)

from ...core.context import State
from ...core.reader import fetch_projection
from ...core.reads import wait_applied
from ...core.worker_bodies import NoFields
from ...http.access import caller_id
from ...http.plumbing import json_response, read_json_body
from ...http.validation import decode_body
from .routes import require_role, visible_project

Build = Callable[[str, datetime, str], JobEvent]
_LIMIT: Final = 100_000  # jobs per call; call again for more


def _reset(job_id: str, at: datetime, by: str) -> JobEvent:
    return JobResetRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=at, requested_by=by)


def _delete(job_id: str, at: datetime, by: str) -> JobEvent:
    return JobDeleteRequested(event_id=new_uuid7(), job_id=job_id, occurred_at=at, requested_by=by)


# action -> (the job states it touches, the event each job gets)
_ACTIONS: Final[dict[str, tuple[tuple[str, ...], Build]]] = {
    "reset-failed": (("failed", "timed_out"), _reset),
    "reclaim-assigned": (("assigned", "running"), _reset),
    "hard-reset": (
        ("pending", "blocked", "queued", "assigned", "running", "succeeded", "failed", "timed_out", "cancelled"),
        _delete,
    ),
}


def _maintenance_endpoint(action: str) -> Callable[[Request], Awaitable[Response]]:
    states, build = _ACTIONS[action]

    async def endpoint(request: Request) -> Response:
        state: State = request.scope["state"]
        project, roles = await visible_project(request)
        decode_body(await read_json_body(request, state["max_body_bytes"], optional=True), NoFields)
        require_role(roles, "maintenance")
        rows = await fetch_projection(
            state["reader"].pool,
            "SELECT id::text FROM scheduler.jobs WHERE project = $1 AND state = ANY($2::text[]) AND NOT deleted"
            " ORDER BY submitted_seq LIMIT $3",
            project.name,
            list(states),
            _LIMIT,
        )
        now, by = datetime.now(UTC), caller_id(request)
        items = [PendingAppend(job_subject(r[0]), build(r[0], now, by)) for r in rows]
        outcomes = await state["appender"].append_batch(items) if items else []
        last = max((o.seq for o in outcomes if isinstance(o, Appended)), default=0)
        is_applied = last == 0 or await wait_applied(state, last)
        body = {"project": project.name, "action": action, "jobs": len(items)}
        return json_response(body, 200 if is_applied else 202)

    endpoint.__doc__ = f"``POST /v1/projects/{{name}}/maintenance/{action}``: jobs in {', '.join(states)}."
    return endpoint


MAINTENANCE_ROUTES: Final = [
    Route(f"/v1/projects/{{project}}/maintenance/{action}", _maintenance_endpoint(action), methods=["POST"])
    for action in _ACTIONS
]
