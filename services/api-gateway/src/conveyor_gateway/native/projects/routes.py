"""Projects under ``/v1/projects``: create, list, read, update, and per-user roles.

Every decision is in ``project_access``; this module reads, appends and waits. A hidden project
answers 404 to whoever lacks ``read``, exactly as a missing one.
"""

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import project_id_of

from ...core import projects
from ...core.context import State
from ...core.project_access import ProjectDoc, can_see_project, effective_roles
from ...errors import MissingRoleError, ProjectNotFoundError, UserNotFoundError
from ...http.access import caller
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body
from .bodies import ProjectCreate, ProjectPage, ProjectPatch, ProjectView, RoleGrant, RoleList, RolesBody

_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_NO_STORE: Final = {"Cache-Control": "no-store"}


def _view(project: ProjectDoc, roles: frozenset[str]) -> ProjectView:
    shows_secrets = "secret" in roles
    return ProjectView(
        id=project.id,
        name=project.name,
        owner=project.owner,
        priority=project.priority,
        visibility=project.visibility,
        paused=project.paused,
        motd=project.motd,
        version=project.version,
        clone_url=project.clone_url,
        chain_target=project.chain_target,
        submit_rate=project.submit_rate,
        submit_burst=project.submit_burst,
        assign_rate=project.assign_rate,
        assign_burst=project.assign_burst,
        created_at=project.created_at,
        updated_at=project.updated_at,
        your_roles=sorted(roles),
        secret=project.secret if shows_secrets else None,
        webhook_secret=project.webhook_secret if shows_secrets else None,
    )


async def visible_project(request: Request) -> tuple[ProjectDoc, frozenset[str]]:
    """The project named in the path and the caller's roles on it.

    Raises:
        ProjectNotFoundError: No such project, or it is hidden from the caller.
    """
    state: State = request.scope["state"]
    name: str = request.path_params["project"]
    if not _NAME.match(name):
        raise ProjectNotFoundError("no such project")
    principal = caller(request)
    project, granted = await state["projects"].with_roles(name, principal.user_id)
    if project is None:
        raise ProjectNotFoundError(f"no project {name!r}")
    roles = effective_roles(principal, project, granted)
    if not can_see_project(project, roles):
        raise ProjectNotFoundError(f"no project {name!r}")
    return project, roles


def require_role(roles: frozenset[str], role: str) -> None:
    if role not in roles:
        raise MissingRoleError(f"this needs the {role!r} role on the project")


async def create_project(request: Request) -> Response:
    """``POST /v1/projects``: 201 with the project and both secrets (shown to its owner)."""
    state: State = request.scope["state"]
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), ProjectCreate)
    fields = {f: getattr(ask, f) for f in ask.__struct_fields__ if f != "name"}
    project = await projects.create_project(state, ask.name, caller(request).user_id, **fields)
    location = {**_NO_STORE, "Location": f"/v1/projects/{ask.name}"}
    if project is None:
        return json_response({"id": project_id_of(ask.name), "name": ask.name, "status": "accepted"}, 202, location)
    return json_response(_view(project, effective_roles(caller(request), project, ())), 201, location)


async def list_projects(request: Request) -> Response:
    """``GET /v1/projects``: every project the caller may see, by name."""
    state: State = request.scope["state"]
    principal = caller(request)
    rows = await state["projects"].listed(principal.user_id, is_admin=principal.has_scope("admin"))
    items = [_view(p, effective_roles(principal, p, granted)) for p, granted in rows]
    return json_response(ProjectPage(items=items))


async def get_project(request: Request) -> Response:
    """``GET /v1/projects/{name}``."""
    project, roles = await visible_project(request)
    return json_response(_view(project, roles), headers=_NO_STORE if "secret" in roles else None)


async def update_project(request: Request) -> Response:
    """``PATCH /v1/projects/{name}``: ``edit`` for fields, ``secret`` to rotate secrets; 200 with the project."""
    state: State = request.scope["state"]
    project, roles = await visible_project(request)
    patch = decode_body(await read_json_body(request, state["max_body_bytes"]), ProjectPatch)
    require_role(roles, "edit")
    if patch.rotate_secret or patch.rotate_webhook_secret:
        require_role(roles, "secret")
    after = await projects.update_project(
        state,
        project,
        caller(request).user_id,
        priority=patch.priority,
        visibility=patch.visibility,
        paused=patch.paused,
        motd=patch.motd,
        version=patch.version,
        clone_url=patch.clone_url,
        chain_target=patch.chain_target,
        submit_rate=patch.submit_rate,
        submit_burst=patch.submit_burst,
        assign_rate=patch.assign_rate,
        assign_burst=patch.assign_burst,
        secret=projects.new_secret() if patch.rotate_secret else None,
        webhook_secret=projects.new_secret() if patch.rotate_webhook_secret else None,
    )
    return json_response(_view(after, roles), headers=_NO_STORE if "secret" in roles else None)


async def list_roles(request: Request) -> Response:
    """``GET /v1/projects/{name}/roles``: who holds which role (``read`` or ``manage_access``)."""
    state: State = request.scope["state"]
    project, roles = await visible_project(request)
    if "manage_access" not in roles:
        require_role(roles, "read")
    grants = await state["projects"].roles(project.id)
    return json_response(RoleList(items=[RoleGrant(user_id=u, roles=r) for u, r in grants]))


async def set_roles(request: Request) -> Response:
    """``PUT /v1/projects/{name}/roles/{user_id}``: replace a user's roles (``manage_access``)."""
    state: State = request.scope["state"]
    project, roles = await visible_project(request)
    user_id = path_id(request, "user_id", "user")
    body = decode_body(await read_json_body(request, state["max_body_bytes"]), RolesBody)
    require_role(roles, "manage_access")
    if await state["identity"].user(user_id) is None:
        raise UserNotFoundError(f"no user {user_id}")
    wanted = tuple(dict.fromkeys(body.roles))
    await projects.set_project_roles(state, project, user_id, wanted, caller(request).user_id)
    return json_response(RoleGrant(user_id=user_id, roles=list(wanted)))


PROJECT_ROUTES: Final = [
    Route("/v1/projects", create_project, methods=["POST"]),
    Route("/v1/projects", list_projects, methods=["GET"]),
    Route("/v1/projects/{project}", get_project, methods=["GET"]),
    Route("/v1/projects/{project}", update_project, methods=["PATCH"]),
    Route("/v1/projects/{project}/roles", list_roles, methods=["GET"]),
    Route("/v1/projects/{project}/roles/{user_id}", set_roles, methods=["PUT"]),
]
