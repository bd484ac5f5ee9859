"""``/project/*``: task_tracker's projects are Conveyor's projects, its manager roles Conveyor's
project roles, its worker access Conveyor's worker access.

Visibility (the document's matrix): ``public`` is Conveyor's ``public``, ``hidden`` its
``hidden``, neither its ``private``. A hidden project answers as a missing one (404) to whoever
may not read it; task_tracker answered 403, which told that it existed.
"""

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import projects as core_projects
from ...core import worker_access
from ...core.context import State
from ...core.numbered import (
    NumberedProject,
    numbered_projects,
    project_by_name,
    project_by_seq,
    worker_by_seq,
    workers_by_id,
)
from ...core.project_access import effective_roles
from ...core.token_auth import Principal
from ...errors import ProjectExistsError
from .auth import is_tracker_admin, manager_of, parse_worker_id, require_manager, worker_of
from .envelope import TtError, reply
from .views import project_view, worker_view
from .wire import AccessAsk, ProjectFields, SetSecret, SetWebhookSecret, read_body

ROLE_BITS: Final = {"read": 1, "edit": 2, "manage_access": 4, "secret": 8, "maintenance": 16}
_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9_.\-]+")
_ACCESS_REFUSED: Final = (
    "Project is public, you already have an active request or you already have access to this project"
)


def project_name(name: str) -> str:
    """A Conveyor project name for a task_tracker one (spaces and the like become ``-``)."""
    return _NOT_NAME.sub("-", name.strip()).strip("-.")[:64]


def visibility_of(public: bool, hidden: bool) -> str:
    return "public" if public else "hidden" if hidden else "private"


def path_number(request: Request, name: str = "id") -> int:
    text: str = request.path_params[name]
    number = int(text) if text.isdigit() and len(text) < 19 else 0
    if number <= 0:
        raise TtError("Invalid project id")
    return number


async def project_roles(state: State, manager: Principal | None, p: NumberedProject) -> frozenset[str]:
    """The manager's roles on the project (none without a manager)."""
    if manager is None:
        return frozenset()
    _, granted = await state["projects"].with_roles(p.doc.name, manager.user_id)
    return effective_roles(manager, p.doc, granted)


async def readable_project(request: Request, number: int) -> tuple[NumberedProject, Principal | None]:
    """The project, if the caller may read it (hidden: a manager with ``read``)."""
    state: State = request.scope["state"]
    found = await project_by_seq(state, number)
    manager = await manager_of(request)
    if found is None or (found.doc.visibility == "hidden" and "read" not in await project_roles(state, manager, found)):
        raise TtError("Project not found", 404)
    return found, manager


async def managed_project(request: Request, role: str) -> tuple[NumberedProject, Principal]:
    """The project in the path, for a manager holding ``role`` on it.

    Raises:
        TtError: No manager (401), no such project (404), or not the role (403 "Unauthorized").
    """
    state: State = request.scope["state"]
    manager = await require_manager(request)
    found = await project_by_seq(state, path_number(request))
    if found is None:
        raise TtError("Project not found", 404)
    roles = await project_roles(state, manager, found)
    if role not in roles:
        if found.doc.visibility == "hidden" and "read" not in roles:
            raise TtError("Project not found", 404)
        raise TtError("Unauthorized", 403)
    return found, manager


async def get_project(request: Request) -> Response:
    found, _ = await readable_project(request, path_number(request))
    return reply({"project": project_view(found)})


async def list_projects(request: Request) -> Response:
    state: State = request.scope["state"]
    manager = await manager_of(request)
    items = []
    for p in await numbered_projects(state):
        if p.doc.visibility == "hidden" and "read" not in await project_roles(state, manager, p):
            continue
        items.append(project_view(p))
    return reply({"projects": items})


def _valid(ask: ProjectFields, number: int = 0) -> bool:
    return (
        bool(project_name(ask.name))
        and 0 <= ask.priority <= 1000
        and not (ask.hidden and ask.public)
        and ask.assign_rate >= 0
        and ask.submit_rate >= 0
        and (number == 0 or ask.chain != number)
        and len(ask.motd) <= 4096
        and len(ask.clone_url) <= 2048
        and len(ask.version) <= 256
    )


async def _chain_target(state: State, manager: Principal, chain: int) -> str:
    """The name of the chain target, which the manager must hold ``edit`` on ('' for none)."""
    if chain == 0:
        return ""
    target = await project_by_seq(state, chain) if 0 < chain < 2**63 else None
    if target is None or "edit" not in await project_roles(state, manager, target):
        raise TtError("Unauthorized (You need RoleEdit on the project you wish to chain tasks to)", 403)
    return target.doc.name


async def create_project(request: Request) -> Response:
    state: State = request.scope["state"]
    manager = await require_manager(request)
    ask = await read_body(request, ProjectFields)
    if not _valid(ask):
        raise TtError("Invalid project")
    if ask.public and not is_tracker_admin(manager):
        raise TtError("You are not permitted to create a project with this configuration")
    name = project_name(ask.name)
    chain = await _chain_target(state, manager, ask.chain)
    try:
        await core_projects.create_project(
            state,
            name,
            manager.user_id,
            priority=int(ask.priority),
            visibility=visibility_of(ask.public, ask.hidden),
            motd=ask.motd,
            version=ask.version,
            clone_url=ask.clone_url,
            chain_target=chain,
            assign_rate=ask.assign_rate,
            submit_rate=ask.submit_rate,
        )
    except ProjectExistsError:
        raise TtError(f'pq: duplicate key value violates unique constraint "project_name_key" ({name})') from None
    created = await project_by_name(state, name)
    return reply({"id": created.seq if created else 0})


async def update_project(request: Request) -> Response:
    state: State = request.scope["state"]
    found, manager = await managed_project(request, "edit")
    ask = await read_body(request, ProjectFields)
    if not _valid(ask, found.seq) or project_name(ask.name) != found.doc.name:
        raise TtError("Invalid request")  # Conveyor's project names do not change
    visibility = visibility_of(ask.public, ask.hidden)
    if visibility == "public" and found.doc.visibility != "public" and not is_tracker_admin(manager):
        raise TtError("Unauthorized", 403)
    chain = await _chain_target(state, manager, ask.chain)
    await core_projects.update_project(
        state,
        found.doc,
        manager.user_id,
        priority=int(ask.priority),
        visibility=visibility,
        paused=ask.paused,
        motd=ask.motd,
        version=ask.version,
        clone_url=ask.clone_url,
        chain_target=chain,
        assign_rate=ask.assign_rate,
        submit_rate=ask.submit_rate,
    )
    return reply()


async def request_access(request: Request) -> Response:
    state: State = request.scope["state"]
    try:
        ask = await read_body(request, AccessAsk)
    except TtError:
        raise TtError("Could not parse request") from None
    if not ask.assign and not ask.submit:
        raise TtError("Invalid request")
    worker = await worker_of(request, 401)
    found = await project_by_seq(state, ask.project) if 0 < ask.project < 2**63 else None
    access = await worker_access.access_of(state, found.doc.id, worker.id) if found else None
    public_assign_only = found is not None and found.doc.visibility == "public" and not ask.submit
    if found is None or public_assign_only or (access is not None and access.status in ("requested", "granted")):
        raise TtError(_ACCESS_REFUSED)
    seq = await worker_access.request_access(
        state, worker.id, found.doc, assign=ask.assign, submit=ask.submit, hidden_too=True
    )
    await state["projects_watcher"].wait_for(seq, state["write_wait_s"])
    return reply()


async def _worker_in_path(request: Request) -> str:
    state: State = request.scope["state"]
    try:
        seq = parse_worker_id(request.path_params["wid"])
    except TtError:
        raise TtError("Invalid worker id") from None
    found = await worker_by_seq(state, seq)
    if found is None or found.deleted:
        raise TtError("Worker did not have access to this project")
    return found.id


async def accept_request(request: Request) -> Response:
    state: State = request.scope["state"]
    found, manager = await managed_project(request, "manage_access")
    worker_id = await _worker_in_path(request)
    access = await worker_access.access_of(state, found.doc.id, worker_id)
    if access is None or access.status != "requested":
        return reply(ok=False, message="Worker did not have access to this project")
    await worker_access.decide_access(
        state,
        found.doc,
        worker_id,
        "granted",
        assign=access.requested_assign or access.assign,
        submit=access.requested_submit or access.submit,
        by=manager.user_id,
    )
    return reply()


async def reject_request(request: Request) -> Response:
    state: State = request.scope["state"]
    found, manager = await managed_project(request, "manage_access")  # task_tracker checked nothing here
    worker_id = await _worker_in_path(request)
    access = await worker_access.access_of(state, found.doc.id, worker_id)
    if access is None or access.status == "rejected":
        return reply(ok=False, message="Worker did not have access to this project")
    await worker_access.decide_access(
        state, found.doc, worker_id, "rejected", assign=False, submit=False, by=manager.user_id
    )
    return reply()


async def access_list(request: Request) -> Response:
    state: State = request.scope["state"]
    found, _ = await managed_project(request, "manage_access")
    rows = [a for a in await worker_access.accesses(state, found.doc.id) if a.status != "rejected"]
    workers = await workers_by_id(state, [a.worker_id for a in rows])
    items = []
    for a in rows:
        w = workers.get(a.worker_id)
        if w is None:
            continue
        pending = a.status == "requested"
        items.append(
            {
                "submit": a.requested_submit if pending else a.submit,
                "assign": a.requested_assign if pending else a.assign,
                "request": pending,
                "worker": worker_view(w),
                "project": found.seq,
            }
        )
    return reply({"accesses": items})


async def get_secret(request: Request) -> Response:
    state: State = request.scope["state"]
    number = path_number(request)
    if request.headers.get("x-worker-id"):
        worker = await worker_of(request, 401)
        found = await project_by_seq(state, number)
        access = await worker_access.access_of(state, found.doc.id, worker.id) if found else None
        if found is None or access is None or access.status != "granted" or not access.assign:
            raise TtError("Unauthorized", 403)
        return reply({"secret": found.doc.secret})
    found, _ = await managed_project(request, "secret")
    return reply({"secret": found.doc.secret})


async def set_secret(request: Request) -> Response:
    state: State = request.scope["state"]
    found, manager = await managed_project(request, "secret")
    ask = await read_body(request, SetSecret)
    if len(ask.secret) > 65_536:
        raise TtError("Invalid request")
    await core_projects.update_project(state, found.doc, manager.user_id, secret=ask.secret)
    return reply()


async def get_webhook_secret(request: Request) -> Response:
    found, _ = await managed_project(request, "secret")
    return reply({"webhook_secret": found.doc.webhook_secret})


async def set_webhook_secret(request: Request) -> Response:
    state: State = request.scope["state"]
    found, manager = await managed_project(request, "secret")
    ask = await read_body(request, SetWebhookSecret)
    if not ask.webhook_secret or len(ask.webhook_secret) > 1024:
        raise TtError("Invalid request")
    await core_projects.update_project(state, found.doc, manager.user_id, webhook_secret=ask.webhook_secret)
    return reply()


ROUTES: Final = [
    Route("/project/create", create_project, methods=["POST"]),
    Route("/project/get/{id}", get_project, methods=["GET"]),
    Route("/project/update/{id}", update_project, methods=["POST"]),
    Route("/project/list", list_projects, methods=["GET"]),
    Route("/project/request_access", request_access, methods=["POST"]),
    Route("/project/accept_request/{id}/{wid}", accept_request, methods=["POST"]),
    Route("/project/reject_request/{id}/{wid}", reject_request, methods=["POST"]),
    Route("/project/access_list/{id}", access_list, methods=["GET"]),
    Route("/project/secret/{id}", get_secret, methods=["GET"]),
    Route("/project/secret/{id}", set_secret, methods=["POST"]),
    Route("/project/webhook_secret/{id}", get_webhook_secret, methods=["GET"]),
    Route("/project/webhook_secret/{id}", set_webhook_secret, methods=["POST"]),
]
