"""``/project/monitoring*``, ``/project/assignees``, the three maintenance actions and
``/git/receivehook``.

- Monitoring: Conveyor keeps no periodic snapshots (task_tracker's cron wrote one every few
  minutes); every job's history is in its events instead. A monitoring call answers one
  snapshot counted now (``monitoring-between``: when now is inside the range).
- Maintenance needs the ``maintenance`` role and answers ``content.affected_tasks``.
- The push hook matches the project whose ``clone_url`` names the pushed repository (its
  ``git_repo``), checks the HMAC in constant time (``X-Hub-Signature``: SHA-1,
  ``X-Hub-Signature-256`` and ``X-Gogs-Signature``: SHA-256) and sets the project's version.
"""

import hashlib
import hmac
import time
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import projects as core_projects
from ...core.context import State
from ...core.maintenance import Action, maintain
from ...core.numbered import numbered_projects, workers_by_id
from ...core.project_stats import assignee_counts, granted_workers, state_counts
from .envelope import TtError, reply
from .projects import managed_project, path_number, readable_project
from .views import git_repo_of
from .wire import BULK_MAX_BODY

_NEW: Final = ("pending", "blocked", "queued", "assigned", "running")
_FAILED: Final = ("failed", "timed_out", "cancelled")


async def _snapshot(state: State, project: str) -> dict[str, Any]:
    counts = await state_counts(state, project)
    return {
        "new_task_count": sum(counts.get(s, 0) for s in _NEW),
        "failed_task_count": sum(counts.get(s, 0) for s in _FAILED),
        "closed_task_count": counts.get("succeeded", 0),
        "worker_access_count": await granted_workers(state, project),
        "awaiting_verification_count": counts.get("awaiting_verification", 0),
        "time_stamp": int(time.time()),
    }


def _int_param(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name, str(default))
    try:
        return int(text)
    except ValueError:
        raise TtError("Invalid request") from None


async def monitoring(request: Request) -> Response:
    state: State = request.scope["state"]
    found, _ = await readable_project(request, path_number(request))
    count = _int_param(request, "count", 1)
    if not 0 < count < 1000:
        raise TtError("Invalid request")
    return reply({"snapshots": [await _snapshot(state, found.doc.name)]})


async def monitoring_between(request: Request) -> Response:
    state: State = request.scope["state"]
    found, _ = await readable_project(request, path_number(request))
    start, end, now = _int_param(request, "from", 0), _int_param(request, "to", 0), int(time.time())
    if start <= 0 or end <= 0 or end < start:
        raise TtError("Invalid request")
    return reply({"snapshots": [await _snapshot(state, found.doc.name)] if start <= now <= end else []})


async def assignees(request: Request) -> Response:
    state: State = request.scope["state"]
    found, _ = await readable_project(request, path_number(request))
    counts = await assignee_counts(state, found.doc.name, 16)
    names = await workers_by_id(state, [w for w, _ in counts if w])
    body = [{"assignee": names[w].name if w in names else "unassigned", "task_count": n} for w, n in counts]
    return reply({"assignees": body})


def _maintenance(action: Action) -> Any:
    async def endpoint(request: Request) -> Response:
        state: State = request.scope["state"]
        found, manager = await managed_project(request, "maintenance")
        count, _ = await maintain(state, found.doc.name, action, manager.user_id)
        return reply({"affected_tasks": count})

    return endpoint


class _Push(msgspec.Struct):
    class Repo(msgspec.Struct):
        full_name: str = ""

    ref: str = ""
    after: str = ""
    repository: Repo = msgspec.field(default_factory=Repo)


def _signature(request: Request) -> tuple[str, str] | None:
    """``(hash name, hex digest)`` from the GitHub or Gogs header."""
    for header, algorithm in (
        ("x-hub-signature-256", "sha256"),
        ("x-gogs-signature", "sha256"),
        ("x-hub-signature", "sha1"),
    ):
        value = request.headers.get(header, "")
        if value:
            return algorithm, value.partition("=")[2] if "=" in value else value
    return None


async def receive_hook(request: Request) -> Response:
    state: State = request.scope["state"]
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > BULK_MAX_BODY:
            raise TtError("Request body too large", 413)
    body = bytes(chunks)
    try:
        push = msgspec.json.decode(body, type=_Push)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise TtError("Could not parse request") from None
    if not push.ref.endswith("master"):
        raise TtError("Invalid request")  # task_tracker: only pushes to master redeploy
    wanted = push.repository.full_name.lower()
    project = next((p for p in await numbered_projects(state) if git_repo_of(p.doc.clone_url).lower() == wanted), None)
    signed = _signature(request)
    key = project.doc.webhook_secret.encode() if project else b"conveyor: no such project"
    algorithm = signed[0] if signed else "sha256"
    expected = hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()
    valid = signed is not None and hmac.compare_digest(
        expected.encode(), signed[1].strip().lower().encode("ascii", "replace")
    )
    if project is None or not valid or not wanted or not push.after:
        raise TtError("Unauthorized", 403)
    await core_projects.update_project(state, project.doc, f"hook:{algorithm}", version=push.after[:256])
    return reply()


ROUTES: Final = [
    Route("/project/monitoring/{id}", monitoring, methods=["GET"]),
    Route("/project/monitoring-between/{id}", monitoring_between, methods=["GET"]),
    Route("/project/assignees/{id}", assignees, methods=["GET"]),
    Route("/project/reset_failed_tasks/{id}", _maintenance("reset-failed"), methods=["POST"]),
    Route("/project/hard_reset/{id}", _maintenance("hard-reset"), methods=["POST"]),
    Route("/project/reclaim_assigned_tasks/{id}", _maintenance("reclaim-assigned"), methods=["POST"]),
    Route("/git/receivehook", receive_hook, methods=["POST"]),
]
