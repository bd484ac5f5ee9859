"""Managers: ``/register``, ``/login``, ``/logout``, ``/account`` and ``/manager/*``. A manager is
a Conveyor user; ``tracker_admin`` is Conveyor's admin.

- A password is stored as its argon2id hash (task_tracker stored SHA-512 of password‖username).
- The session cookie ``tt`` (8 hours, ``HttpOnly``, ``SameSite=Strict``) holds a Conveyor API token
  issued at login (it expires with the session) and revoked at logout: every gateway accepts it,
  with no session store of its own. A Conveyor API token sent as ``Authorization: Bearer`` is a
  manager session too (how Conveyor's existing admins manage through the façade).
- ``/manager/promote/:id`` and ``/manager/demote/:id`` are answered on ``GET`` as the server
  did, but only for an admin's session and never from another site's link (``SameSite=Strict``
  cookie, ``Sec-Fetch-Site: cross-site`` refused): they change state.
"""

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import projects as core_projects
from ...core import users
from ...core.context import State
from ...core.numbered import NumberedUser, numbered_users, user_by_seq, users_by_id
from ...core.token_auth import Principal
from ...errors import UserExistsError
from .auth import SESSION_COOKIE, is_tracker_admin, manager_of, require_manager
from .envelope import TtError, reply
from .projects import ROLE_BITS, managed_project, path_number
from .wire import Credentials, SetRole, read_body

SESSION_S: Final = 8 * 3600
# A session's token may manage projects (as a task_tracker manager does) and, for an admin user,
# everything (``admin`` counts only while the user is an admin, so promote and demote apply at
# once); a self-registered manager gets no native jobs or workers scopes.
SESSION_SCOPES: Final = ("projects", "admin")
_MIN_NAME, _MAX_NAME, _MIN_PASSWORD = 3, 16, 8


def manager_view(u: NumberedUser) -> dict[str, Any]:
    return {
        "id": u.seq,
        "username": u.name,
        "tracker_admin": u.is_admin,
        "register_time": int(u.created_at.timestamp()),
    }


def roles_of_bits(bits: int) -> tuple[str, ...]:
    return tuple(name for name, bit in ROLE_BITS.items() if bits & bit)


def bits_of_roles(roles: list[str] | tuple[str, ...]) -> int:
    return sum(ROLE_BITS.get(r, 0) for r in set(roles))


async def _session(request: Request, user_id: str, answer: dict[str, Any]) -> Response:
    state: State = request.scope["state"]
    token, _, _, _ = await users.issue_token(
        state, user_id, SESSION_SCOPES, name="task_tracker session", issued_by=user_id, expires_in_s=SESSION_S
    )
    response = reply(answer)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_S, httponly=True, samesite="strict", secure=secure, path="/"
    )
    return response


async def _me(state: State, principal: Principal) -> NumberedUser | None:
    return (await users_by_id(state, [principal.user_id])).get(principal.user_id)


async def register(request: Request) -> Response:
    state: State = request.scope["state"]
    ask = await read_body(request, Credentials)
    name_ok = _MIN_NAME <= len(ask.username) <= _MAX_NAME and ask.username.isascii() and ask.username.isprintable()
    if not name_ok or len(ask.password) < _MIN_PASSWORD or len(ask.password) > 1024 or " " in ask.username:
        raise TtError("Invalid register request")
    try:
        user_id, _ = await users.create_user(state, ask.username, is_admin=False, created_by="", password=ask.password)
    except UserExistsError:
        raise TtError(
            f'pq: duplicate key value violates unique constraint "manager_username_key" ({ask.username})'
        ) from None
    found = (await users_by_id(state, [user_id])).get(user_id)
    view = manager_view(found) if found else {"username": ask.username, "tracker_admin": False}
    return await _session(request, user_id, {"manager": view})


async def login(request: Request) -> Response:
    state: State = request.scope["state"]
    ask = await read_body(request, Credentials)
    user_id = await users.check_password(state, ask.username, ask.password) if len(ask.password) <= 1024 else None
    found = (await users_by_id(state, [user_id])).get(user_id) if user_id else None
    if user_id is None or found is None:
        raise TtError("Invalid username/password", 403)
    return await _session(request, user_id, {"manager": manager_view(found)})


async def logout(request: Request) -> Response:
    state: State = request.scope["state"]
    manager = await manager_of(request)
    if manager is not None and request.cookies.get(SESSION_COOKIE):
        await users.revoke_token(state, manager.user_id, manager.token_id, by=manager.user_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def account(request: Request) -> Response:
    state: State = request.scope["state"]
    manager = await manager_of(request)
    me = await _me(state, manager) if manager else None
    if manager is None:
        return reply({"logged_in": False})
    view = (
        manager_view(me)
        if me
        else {"id": 0, "username": manager.name, "tracker_admin": manager.is_admin, "register_time": 0}
    )
    return reply({"logged_in": True, "manager": view})


async def list_managers(request: Request) -> Response:
    state: State = request.scope["state"]
    await require_manager(request)
    return reply({"managers": [manager_view(u) for u in await numbered_users(state)]})


async def list_for_project(request: Request) -> Response:
    state: State = request.scope["state"]
    found, _ = await managed_project(request, "read")
    grants = dict(await state["projects"].roles(found.doc.id))
    grants.setdefault(found.doc.owner, list(ROLE_BITS))
    known = await users_by_id(state, list(grants))
    body = [{"manager": manager_view(known[u]), "role": bits_of_roles(r)} for u, r in grants.items() if u in known]
    return reply({"managers": body})


async def _admin_change(request: Request, is_admin: bool) -> Response:
    state: State = request.scope["state"]
    manager = await require_manager(request)
    if request.headers.get("sec-fetch-site") == "cross-site":  # a link on another site: not the admin's intent
        raise TtError("Unauthorized", 403)
    try:
        number = path_number(request)
    except TtError:
        raise TtError("Invalid manager id") from None
    target = await user_by_seq(state, number)
    if not is_tracker_admin(manager) or (target is not None and target.id == manager.user_id):
        raise TtError("Unauthorized", 403)
    if target is None:
        raise TtError("Manager not found", 404)
    await users.set_admin(state, target.id, is_admin, by=manager.user_id)
    return reply()


async def promote(request: Request) -> Response:
    return await _admin_change(request, True)


async def demote(request: Request) -> Response:
    return await _admin_change(request, False)


async def set_role_for_project(request: Request) -> Response:
    state: State = request.scope["state"]
    found, manager = await managed_project(request, "manage_access")
    ask = await read_body(request, SetRole)
    target = await user_by_seq(state, ask.manager) if 0 < ask.manager < 2**63 else None
    if target is None or not 0 <= ask.role < 32:
        raise TtError("Invalid request")
    await core_projects.set_project_roles(state, found.doc, target.id, roles_of_bits(ask.role), manager.user_id)
    return reply()


ROUTES: Final = [
    Route("/register", register, methods=["POST"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["GET"]),
    Route("/account", account, methods=["GET"]),
    Route("/manager/list", list_managers, methods=["GET"]),
    Route("/manager/list_for_project/{id}", list_for_project, methods=["GET"]),
    Route("/manager/promote/{id}", promote, methods=["GET"]),
    Route("/manager/demote/{id}", demote, methods=["GET"]),
    Route("/manager/set_role_for_project/{id}", set_role_for_project, methods=["POST"]),
]
