"""isula-composer-server's API (issue 18) as a Starlette app: every row of its document's table,
at ``/compat/isula`` on the gateway's port and at the root of a port of its own when configured.

``:user`` is a Conveyor user; a caller acts only for itself unless it is an admin. A caller shows
a bearer token (``Authorization: Bearer``), or, as the real clients send nothing, calls from a
network the operator trusts for ``isula`` (``CONVEYOR_COMPAT_TRUST``), acting as the user named
there. Success is JSON; an error is a plain-text sentence with its HTTP status, as the real server
answered. Bad input stores nothing.
"""

from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from conveyor_events import parse_uuid

from ...core import hooks
from ...core.context import State
from ...core.hook_bodies import HookCreate
from ...core.identity_reader import UserView
from ...core.token_auth import Principal
from ...errors import (
    ConflictError,
    ForbiddenError,
    GatewayError,
    NotFoundError,
    RangeNotSatisfiableError,
    TooLargeError,
    UnauthenticatedError,
    UnavailableError,
)
from ...http.plumbing import json_response, read_raw_body
from ...http.trusted_networks import trusted_principal
from .bodies import HookDoc, HookIn, TaskJson
from .files import download, listing, output_path
from .tasks import Build, TaskNotFoundError, create_task, delete_task, find_task, list_tasks, rerun_task, task_doc

FACADE: Final = "isula"
TRUSTED_SCOPES: Final = frozenset({"jobs:read", "jobs:write", "hooks"})
MAX_UPLOAD: Final = 262_144  # a manifest task's script


class IsulaError(Exception):
    """An answer in isula's shape: ``status`` and a plain-text message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _state(request: Request) -> State:
    state: State = request.scope["state"]
    return state


async def _caller(request: Request) -> Principal:
    authorization = request.headers.get("authorization")
    if authorization:
        return await _state(request)["tokens"].authenticate(authorization)
    principal = await trusted_principal(request, FACADE, TRUSTED_SCOPES)
    if principal is None:
        raise IsulaError(
            401,
            "Authentication required: send Authorization: Bearer <token>, or call from a network"
            " the operator trusts for isula (CONVEYOR_COMPAT_TRUST).",
        )
    return principal


async def _acting(request: Request, scope: str) -> tuple[UserView, Principal]:
    """The user in the path and the principal acting as them: the caller itself, or for an
    admin, that user (without the admin's powers)."""
    caller = await _caller(request)
    if not caller.has_scope(scope):
        raise IsulaError(403, f"This token lacks the '{scope}' scope.")
    name: str = request.path_params["user"]
    user = await _state(request)["identity"].user_named(name)
    if user is None or (user.id != caller.user_id and not caller.has_scope("admin")):
        # Another user's name answers as a missing one: no probing for who exists.
        raise IsulaError(404, f"Cannot find the user '{name[:64]}' (a caller acts only for itself unless admin).")
    if user.id == caller.user_id and not caller.is_admin:
        return user, caller
    acting = Principal(user_id=user.id, name=user.name, is_admin=False, scopes=TRUSTED_SCOPES, token_id=caller.token_id)
    return user, acting


def _task_number(request: Request) -> int:
    raw: str = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise IsulaError(400, f"Invalid id detected '{raw[:64]}'.")
    return int(raw)


def _base(request: Request) -> str:
    """The façade's root URL as the client reached it (under /compat/isula, or a port's root)."""
    return str(request.url_for("root"))


async def _upload(request: Request, *, optional: bool = False) -> Build | None:
    """The build in the body: multipart ``file`` (``?output=`` names the output), or JSON."""
    output = request.query_params.get("output", "")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = _state(request)["max_body_bytes"]
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise IsulaError(413, f"The body is {declared} bytes; the limit is {limit}.")
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=8, max_part_size=MAX_UPLOAD) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise IsulaError(400, "Cannot find the upload file: send it as the multipart field 'file'.")
            data = await file.read(MAX_UPLOAD + 1)
        text = _text(data)
    else:
        body = await read_raw_body(request, limit)
        if not body.strip():
            if optional:
                return None
            raise IsulaError(400, "Cannot find the upload file: send it as the multipart field 'file', or JSON.")
        doc = msgspec.json.decode(body, type=TaskJson)
        text = doc.scripts or doc.script or doc.config or ""
        output = doc.output or output
        if not text:
            raise IsulaError(400, "The JSON body needs 'Scripts' (or 'script') or 'ConfigFile'.")
    if output:
        output_path(output)
    return Build(upload=text, output=output)


def _text(data: bytes) -> str:
    if len(data) > MAX_UPLOAD:
        raise IsulaError(413, f"The upload exceeds {MAX_UPLOAD} bytes.")
    if not data.strip():
        raise IsulaError(400, "The uploaded file is empty.")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise IsulaError(400, "The uploaded file is not UTF-8 text: a build script is run by the shell.") from None


async def create(request: Request) -> Response:
    _, owner = await _acting(request, "jobs:write")
    build = await _upload(request)
    assert build is not None
    return json_response(await create_task(_state(request), owner, build))


async def list_all(request: Request) -> Response:
    user, _ = await _acting(request, "jobs:read")
    return json_response(await list_tasks(_state(request), user, _base(request)))


async def show(request: Request) -> Response:
    user, _ = await _acting(request, "jobs:read")
    number = _task_number(request)
    job = await find_task(_state(request), user, number)
    return json_response(task_doc(job, number, user, _base(request)))


async def trigger(request: Request) -> Response:
    user, owner = await _acting(request, "jobs:write")
    job = await find_task(_state(request), user, _task_number(request))
    build = await _upload(request, optional=True)
    await rerun_task(_state(request), owner.user_id, job, build)
    return json_response("ok", 202)


async def remove(request: Request) -> Response:
    user, owner = await _acting(request, "jobs:write")
    number = _task_number(request)
    job = await find_task(_state(request), user, number)
    await delete_task(_state(request), owner.user_id, job)
    return json_response("success to remove task")


async def files(request: Request) -> Response:
    user, _ = await _acting(request, "jobs:read")
    number = _task_number(request)
    job = await find_task(_state(request), user, number)
    path: str = request.path_params.get("path", "")
    if not path:
        return await listing(_state(request), job, f"{_base(request)}{user.name}/task/{number}/files/")
    return await download(_state(request), request, job, path)


def _hook_doc(hook_id: str, user: UserView, url: str, events: list[str], description: str, active: bool,
              secret: str | None = None) -> HookDoc:  # fmt: skip
    return HookDoc(ID=hook_id, UserName=user.name, URL=url, Events=events, Description=description, Active=active,
                   Secret=secret)  # fmt: skip


async def add_hook(request: Request) -> Response:
    user, owner = await _acting(request, "hooks")
    ask = msgspec.json.decode(await read_raw_body(request, _state(request)["max_body_bytes"]), type=HookIn)
    create_ask = HookCreate(url=ask.url, events=ask.events, active=ask.active, description=ask.description)
    done = await hooks.create_hook(_state(request), owner, create_ask)
    doc = _hook_doc(done.hook_id, user, ask.url, ask.events, ask.description, ask.active, done.secret)
    return json_response(doc, 201)


async def list_hooks(request: Request) -> Response:
    user, _ = await _acting(request, "hooks")
    found = await _state(request)["hooks"].listed(user.id)
    own = [h for h in found if not h.project]
    return json_response([_hook_doc(h.id, user, h.url, list(h.event_types), h.description, h.is_active) for h in own])


async def _own_hook(request: Request, owner: Principal) -> str:
    raw: str = request.path_params["hook_id"]
    hook_id = parse_uuid(raw)
    if hook_id is None:
        raise IsulaError(404, f"Cannot find the hook '{raw[:64]}'.")
    await hooks.managed_hook(_state(request), owner, hook_id)
    return hook_id


async def show_hook(request: Request) -> Response:
    user, owner = await _acting(request, "hooks")
    hook = await hooks.managed_hook(_state(request), owner, await _own_hook(request, owner))
    return json_response(_hook_doc(hook.id, user, hook.url, list(hook.event_types), hook.description, hook.is_active))


async def remove_hook(request: Request) -> Response:
    _, owner = await _acting(request, "hooks")
    await hooks.delete_hook(_state(request), owner, await _own_hook(request, owner))
    return json_response("success to remove hook")


async def root(request: Request) -> Response:
    return json_response({"service": "isula-composer-server (Conveyor façade)"})


_STATUS: Final[tuple[tuple[type[Exception], int], ...]] = (
    (NotFoundError, 404),
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (TooLargeError, 413),
    (RangeNotSatisfiableError, 416),
    (UnavailableError, 503),
)


def _answered(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint`` with every refusal as isula's plain-text error."""

    async def answered(request: Request) -> Response:
        try:
            return await endpoint(request)
        except IsulaError as exc:
            return PlainTextResponse(exc.message, exc.status)
        except TaskNotFoundError as exc:
            return PlainTextResponse(str(exc), 404)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return PlainTextResponse(f"Invalid body: {exc}.", 400)
        except GatewayError as exc:
            status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 400)
            headers = dict(exc.headers)
            if isinstance(exc, RangeNotSatisfiableError):
                headers["Content-Range"] = f"bytes */{exc.size}"
            return PlainTextResponse(exc.detail, status, headers=headers or None)

    return answered


def _routes() -> list[Route]:
    table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/{user}/task", create, ["POST"]),
        ("/{user}/task", list_all, ["GET"]),
        ("/{user}/task/", create, ["POST"]),
        ("/{user}/task/", list_all, ["GET"]),
        ("/{user}/task/{id}", show, ["GET"]),
        ("/{user}/task/{id}", trigger, ["PUT"]),
        ("/{user}/task/{id}", remove, ["DELETE"]),
        ("/{user}/task/{id}/files", files, ["GET"]),
        ("/{user}/task/{id}/files/", files, ["GET"]),
        ("/{user}/task/{id}/files/{path:path}", files, ["GET"]),
        ("/{user}/task/{id}/{path:path}", files, ["GET"]),  # the document's /:user/task/:id/filename
        ("/{user}/hook", add_hook, ["POST"]),
        ("/{user}/hook", list_hooks, ["GET"]),
        ("/{user}/hook/{hook_id}", show_hook, ["GET"]),
        ("/{user}/hook/{hook_id}", remove_hook, ["DELETE"]),
    ]
    return [Route("/", root, methods=["GET"], name="root")] + [
        Route(path, _answered(endpoint), methods=methods) for path, endpoint, methods in table
    ]


async def _no_route(request: Request, exc: Exception) -> Response:
    """An unknown path or method, as isula's plain-text errors."""
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(f"{request.method} {request.url.path}: {exc.detail}", exc.status_code)


app: Final = Starlette(routes=_routes(), exception_handlers={HTTPException: _no_route})
