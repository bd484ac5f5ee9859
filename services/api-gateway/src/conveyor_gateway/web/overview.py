"""The overview (queue depth by project and state, throughput and failures, workers online) and
the pages of workers, projects (worker access requests) and hooks (deliveries, redeliver)."""

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from conveyor_events import parse_uuid
from conveyor_events.states import JOB_STATES, TERMINAL

from ..core import hooks, worker_access
from ..core.context import State
from ..core.job_counts import JobCounts, OverviewCounts
from ..core.project_access import can_see_project, effective_roles
from ..core.token_auth import Principal
from ..core.worker_bodies import WorkerMode, WorkerView
from ..core.worker_commands import set_worker_mode
from ..core.worker_views import worker_views
from ..errors import GatewayError
from .charts import HEIGHT, WIDTH, bars
from .render import Pages

_SECRETS: Final = frozenset({"secret", "webhook_secret"})  # never in a page
WORKER_MODES: Final[dict[str, WorkerMode]] = {"pause": "paused", "resume": "active", "drain": "draining"}


def _viewer(principal: Principal) -> str | None:
    return None if principal.has_scope("admin") else principal.user_id


async def _none() -> list[WorkerView]:
    return []


async def _workers(state: State) -> list[WorkerView]:
    """The newest 500 live workers, as the API shows them (every ``workers`` holder sees all)."""
    docs, _ = await state["workers"].list(include_deleted=False, limit=500, after_id=None)
    return await worker_views(state, docs)


class OtherPages:
    def __init__(self, pages: Pages) -> None:
        self._pages = pages
        self._counts = OverviewCounts()

    def _back(self, request: Request, path: str) -> Response:
        return Response(status_code=303, headers={"Location": f"{request.scope['root_path']}/{path}"})

    async def overview(self, request: Request) -> Response:
        state: State = request.scope["state"]
        viewer = _viewer(request.scope["ui_principal"])
        snap, workers = await asyncio.gather(
            self._counts.snapshot(JobCounts(state["reader"].pool), viewer, datetime.now(UTC)),
            _workers(state) if request.scope["ui_principal"].has_scope("workers") else _none(),
        )
        depth, hour, day = snap.queue, snap.hour, snap.day
        table: dict[str, dict[str, int]] = defaultdict(dict)
        for row in depth:
            table[row.project][row.state] = row.count
        totals = {s: sum(r.count for r in depth if r.state == s) for s in JOB_STATES}
        totals["failed"] = sum(b.failed for b in day)  # ended ones are counted over the last day
        online = [w for w in workers if w.state != "offline"]
        charts = {"hour": (bars(hour, "hour"), hour), "day": (bars(day, "day"), day)}
        return self._pages.render(
            request, "overview.html", table=dict(sorted(table.items())), totals=totals, workers=online,
            live_states=[s for s in JOB_STATES if s not in TERMINAL], taken_at=snap.taken_at,
            charts=charts, chart_w=WIDTH, chart_h=HEIGHT,
            hour_sum=(sum(b.finished for b in hour), sum(b.failed for b in hour)),
            day_sum=(sum(b.finished for b in day), sum(b.failed for b in day)),
        )  # fmt: skip

    async def workers(self, request: Request) -> Response:
        listed = await _workers(request.scope["state"])
        return self._pages.render(request, "workers.html", workers=listed, modes=WORKER_MODES)

    async def worker_mode(self, request: Request) -> Response:
        worker_id = parse_uuid(request.path_params["worker_id"])
        action = request.path_params["action"]
        if worker_id is None or action not in WORKER_MODES:
            return self._pages.render(request, "message.html", 404, title="Not found", text="no such action")
        try:
            await set_worker_mode(
                request.scope["state"], request.scope["ui_principal"], worker_id, WORKER_MODES[action]
            )
        except GatewayError as exc:
            return self._pages.render(request, "message.html", 409, title=f"{action} refused", text=exc.detail)
        return self._back(request, "workers")

    async def projects(self, request: Request) -> Response:
        state: State = request.scope["state"]
        principal: Principal = request.scope["ui_principal"]
        rows = await state["projects"].listed(principal.user_id, is_admin=principal.has_scope("admin"))
        listed = [
            {k: v for k, v in msgspec.structs.asdict(p).items() if k not in _SECRETS}
            | {"your_roles": sorted(effective_roles(principal, p, granted))}
            for p, granted in rows
        ]
        managed = [p for p in listed if "manage_access" in p["your_roles"]]
        answers = await asyncio.gather(*(worker_access.accesses(state, p["id"]) for p in managed))
        access = {p["name"]: a for p, a in zip(managed, answers, strict=True)}
        return self._pages.render(request, "projects.html", projects=listed, access=access)

    async def decide_access(self, request: Request) -> Response:
        form = request.scope["ui_form"]
        name = request.path_params["project"]
        worker_id = parse_uuid(request.path_params["worker_id"])
        decision = str(form.get("decision", ""))
        if worker_id is None or decision not in ("granted", "rejected"):
            return self._pages.render(request, "message.html", 400, title="Refused", text="grant or reject a worker")
        state: State = request.scope["state"]
        principal: Principal = request.scope["ui_principal"]
        project, granted = await state["projects"].with_roles(name, principal.user_id)
        roles = effective_roles(principal, project, granted) if project is not None else frozenset[str]()
        if project is None or not can_see_project(project, roles):
            return self._pages.render(request, "message.html", 404, title="Refused", text=f"no project {name!r}")
        if "manage_access" not in roles:
            return self._pages.render(request, "message.html", 403, title="Refused",
                                      text="deciding workers' access needs the manage_access role")  # fmt: skip
        try:
            await worker_access.decide_access(
                state, project, worker_id, "granted" if decision == "granted" else "rejected",
                assign=form.get("assign") == "on", submit=form.get("submit") == "on", by=principal.user_id,
            )  # fmt: skip
        except GatewayError as exc:
            return self._pages.render(request, "message.html", 404, title="Refused", text=exc.detail)
        return self._back(request, "projects")

    async def hooks(self, request: Request) -> Response:
        state: State = request.scope["state"]
        listed = await state["hooks"].listed(_viewer(request.scope["ui_principal"]))
        return self._pages.render(request, "hooks.html", hooks=listed)

    async def hook(self, request: Request) -> Response:
        state: State = request.scope["state"]
        hook_id = parse_uuid(request.path_params["hook_id"])
        try:
            hook = await hooks.managed_hook(state, request.scope["ui_principal"], hook_id or "")
        except GatewayError:
            return self._pages.render(request, "message.html", 404, title="No such hook", text="no hook you may see")
        deliveries, _ = await state["hooks"].deliveries(hook.id, limit=100, before_seq=None)
        return self._pages.render(request, "hook.html", hook=hook, deliveries=deliveries)

    async def redeliver(self, request: Request) -> Response:
        hook_id = parse_uuid(request.path_params["hook_id"])
        delivery_id = parse_uuid(request.path_params["delivery_id"])
        if hook_id is None or delivery_id is None:
            return self._pages.render(request, "message.html", 404, title="Not found", text="no such delivery")
        try:
            await hooks.redeliver(request.scope["state"], request.scope["ui_principal"], hook_id, delivery_id)
        except GatewayError as exc:
            return self._pages.render(request, "message.html", 404, title="Refused", text=exc.detail)
        return self._back(request, f"hooks/{hook_id}")
