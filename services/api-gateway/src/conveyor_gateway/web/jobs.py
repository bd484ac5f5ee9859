"""The jobs pages: the list (filters in the URL, keyset paging, bulk actions behind a
confirmation that counts the jobs) and one job (fields, timeline, waterfall, children, log)."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, cast
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from conveyor_events import parse_uuid
from conveyor_events.states import JOB_STATES, TERMINAL

from ..core import job_commands
from ..core.bodies import JobView
from ..core.context import State
from ..core.dependency_check import principal_viewer
from ..core.explain import explain
from ..core.explain_facts import gather_facts
from ..core.job_access import check_access_to
from ..core.reader import TEXT_WINDOW, JobFilter, decode_cursor
from ..core.token_auth import Principal
from ..errors import GatewayError, InvalidQueryError
from .api import Asgi, call
from .render import Pages
from .timeline import attempts, waterfall

PAGE: Final = 50
BULK_ACTIONS: Final = ("cancel", "restart", "pause", "resume")
BULK_MAX: Final = 1000  # one confirmation touches at most this many jobs
_FILTERS: Final = ("state", "project", "tag", "owner", "label", "parent", "q")


def _live(state: str) -> bool:
    return state not in TERMINAL


def _ended(state: str) -> bool:
    return state in TERMINAL


_APPLIES: Final[dict[str, Callable[[str], bool]]] = {
    "cancel": _live,
    "pause": _live,
    "resume": _live,
    "restart": _ended,
}


def read_filters(params: Any) -> tuple[dict[str, str], list[str]]:
    """The list's filters from the query (or a form), and what is wrong with them (pure)."""
    found = {k: str(params.get(k, "")).strip() for k in _FILTERS if str(params.get(k, "")).strip()}
    problems = []
    if "state" in found and found["state"] not in JOB_STATES:
        problems.append(f"state must be one of {', '.join(JOB_STATES)}")
        del found["state"]
    if "parent" in found and parse_uuid(found["parent"]) is None:
        problems.append("parent must be a job id")
        del found["parent"]
    for key, value in list(found.items()):
        if len(value) > 128:
            problems.append(f"{key}: at most 128 characters")
            del found[key]
    return found, problems


def job_filter(found: dict[str, str], principal: Principal) -> JobFilter:
    return JobFilter(
        state=found.get("state"),
        project=found.get("project"),
        tag=found.get("tag"),
        owner=found.get("owner"),
        label=found.get("label"),
        parent=parse_uuid(found["parent"]) if "parent" in found else None,
        text=found.get("q"),
        viewer=None if principal.has_scope("admin") else principal.user_id,
    )


class JobPages:
    def __init__(self, pages: Pages, api: Asgi) -> None:
        self._pages = pages
        self._api = api

    async def _call(self, request: Request, method: str, path: str, body: Any = None) -> Any:
        return await call(self._api, request.scope, request.scope["ui_session"].token, method, path, body)

    async def listing(self, request: Request) -> Response:
        state: State = request.scope["state"]
        principal: Principal = request.scope["ui_principal"]
        found, problems = read_filters(request.query_params)
        oldest = request.query_params.get("order") == "oldest"
        cursor = request.query_params.get("cursor")
        try:
            before = decode_cursor(cursor) if cursor else None
        except InvalidQueryError:
            before, problems = None, [*problems, "that page link is not valid any more"]
        items, next_cursor = await state["reader"].list(
            job_filter(found, principal), limit=PAGE, before_seq=before, oldest_first=oldest
        )
        base = {**found, **({"order": "oldest"} if oldest else {})}
        next_url = f"?{urlencode({**base, 'cursor': next_cursor})}" if next_cursor else ""
        return self._pages.render(
            request, "jobs.html", jobs=items, filters=found, problems=problems, order="oldest" if oldest else "newest",
            next_url=next_url, first_url=f"?{urlencode(base)}", is_first=before is None, actions=BULK_ACTIONS,
            text_window=TEXT_WINDOW,
        )  # fmt: skip

    async def _targets(self, request: Request, form: Any) -> list[JobView]:
        """The jobs a bulk form names: the ticked ones, or every job matching its filters."""
        state: State = request.scope["state"]
        principal: Principal = request.scope["ui_principal"]
        if form.get("scope") == "filter":
            found, _ = read_filters(form)
            filters = job_filter(found, principal)
            jobs: list[JobView] = []
            before: int | None = None
            while len(jobs) < BULK_MAX:
                page, cursor = await state["reader"].list(filters, limit=200, before_seq=before)
                jobs.extend(page)
                if cursor is None:
                    break
                before = decode_cursor(cursor)
            return jobs[:BULK_MAX]
        ids = [i for i in (parse_uuid(str(v)) for v in form.getlist("id")) if i is not None][:BULK_MAX]
        viewer = None if principal.has_scope("admin") else principal.user_id
        looked = await asyncio.gather(*(state["reader"].get(i) for i in dict.fromkeys(ids)))
        jobs = [j for j in looked if j is not None]
        if viewer is not None:
            readable = await state["reader"].readable({j.id for j in jobs}, viewer)
            jobs = [j for j in jobs if j.id in readable]
        return jobs

    async def bulk(self, request: Request) -> Response:
        """Step one renders the confirmation (how many jobs, how many the action skips); step two
        (``confirmed``) applies the action to each job through its use case, as the user."""
        form = request.scope["ui_form"]
        action = str(form.get("action", ""))
        if action not in BULK_ACTIONS:
            return self._pages.render(
                request, "message.html", 400, title="Unknown action", text=f"no action {action!r}"
            )
        jobs = await self._targets(request, form)
        applies = _APPLIES[action]
        touched = [j for j in jobs if applies(j.state)]
        if form.get("confirmed") != "yes":
            return self._pages.render(request, "confirm.html", action=action, jobs=touched,
                                      skipped=len(jobs) - len(touched), back=str(form.get("back", "")))  # fmt: skip
        state: State = request.scope["state"]
        principal: Principal = request.scope["ui_principal"]
        results = await _bounded([apply_command(state, principal, j.id, action) for j in touched])
        refused = [(j, why) for j, why in zip(touched, results, strict=True) if why is not None]
        return self._pages.render(request, "bulk_done.html", action=action, done=len(touched) - len(refused),
                                  refused=refused, back=str(form.get("back", "")))  # fmt: skip

    async def job(self, request: Request) -> Response:
        state: State = request.scope["state"]
        principal: Principal = request.scope["ui_principal"]
        job_id = parse_uuid(request.path_params["job_id"])
        job = None
        if job_id is not None:
            try:
                await check_access_to(state, principal, job_id, write=False)
                job = await state["reader"].get(job_id)
            except GatewayError:
                job = None  # one it may not read looks as a missing one, as in the API
        if job is None:
            return self._pages.render(request, "message.html", 404, title="No such job",
                                      text="There is no job with that id that you may see.")  # fmt: skip
        facts, history, artifacts, (children, more) = await asyncio.gather(
            gather_facts(state, job.id, datetime.now(UTC), principal_viewer(principal)),
            self._call(request, "GET", f"/v1/events?job={job.id}&limit=500"),
            state["logs"].artifacts(job.id),
            state["reader"].list(
                job_filter({"parent": job.id}, principal), limit=500, before_seq=None, oldest_first=True
            ),
        )
        events = history.body.get("items", []) if history.ok else []
        runs = attempts(events)
        return self._pages.render(
            request, "job.html", job=job, explain=explain(facts) if facts is not None else None, events=events,
            bars=waterfall(runs, datetime.now(UTC)), runs=runs, children=children, more_children=more is not None,
            artifacts=artifacts,
            payload=_payload(job), terminal=job.state in TERMINAL,
        )  # fmt: skip

    async def command(self, request: Request) -> Response:
        """One job's action button: the API call as the user, then back to the job."""
        job_id = parse_uuid(request.path_params["job_id"])
        action = request.path_params["action"]
        if job_id is None or action not in ("cancel", "pause", "resume", "start", "restart", "reset"):
            return self._pages.render(request, "message.html", 404, title="Not found", text="no such action")
        refused = await apply_command(request.scope["state"], request.scope["ui_principal"], job_id, action)
        if refused is not None:
            return self._pages.render(request, "message.html", 409, title=f"{action} refused", text=refused)
        return Response(status_code=303, headers={"Location": f"{request.scope['root_path']}/jobs/{job_id}"})


async def apply_command(state: State, principal: Principal, job_id: str, action: str) -> str | None:
    """One job command through its use case, as ``principal`` (the API's job access rule first);
    None when done, else why it was refused."""
    try:
        await check_access_to(state, principal, job_id, write=True)
        if action == "cancel":
            await job_commands.cancel_job(state, principal.user_id, job_id, "cancelled from the dashboard")
        else:
            await job_commands.command_job(state, principal.user_id, job_id, cast(job_commands.CommandName, action))
    except GatewayError as exc:
        return exc.detail
    return None


async def _bounded(calls: list[Any], at_once: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(at_once)

    async def one(c: Any) -> Any:
        async with gate:
            return await c

    return list(await asyncio.gather(*(one(c) for c in calls)))


def _payload(job: JobView) -> str:
    return msgspec.json.format(msgspec.json.encode(job.payload), indent=2).decode() if job.payload else ""
