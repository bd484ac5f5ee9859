"""Outbound webhooks under ``/v1/hooks``: create, list, read, change, delete, the delivery log
and redelivery. The hook dispatcher owns the tables; this module checks, appends and waits.

A user hook gets the events of the caller's own jobs; a project hook those of every job in the
project, and managing one needs the project's ``edit`` role (the role that submits and changes
the project's jobs). Hooks one may not manage answer 404, as missing ones.
"""

import base64
import secrets
from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import (
    AppendConflictError,
    HookCreated,
    HookDeleted,
    HookRedeliveryRequested,
    HookUpdated,
    hook_subject,
    new_uuid7,
)
from conveyor_runtime import TargetRefusedError, check_url_syntax, resolve_checked

from .access import caller
from .bodies import FieldError
from .errors import (
    DeliveryNotFoundError,
    HookChangedError,
    HookNotFoundError,
    InvalidQueryError,
    MissingRoleError,
    ValidationFailedError,
)
from .hook_bodies import DeliveryPage, HookCreate, HookPage, HookPatch, HookView
from .hook_reader import HookDoc
from .project_access import effective_roles
from .reader import decode_cursor, encode_cursor
from .routes import State, json_response, path_id, read_json_body
from .token_auth import Principal
from .validation import decode_body

_NO_STORE: Final = {"Cache-Control": "no-store"}


def _view(hook: HookDoc, secret: str | None = None) -> HookView:
    return HookView(
        id=hook.id,
        owner=hook.owner,
        project=hook.project or None,
        url=hook.url,
        events=hook.event_types,
        description=hook.description,
        active=hook.is_active,
        disabled_reason=hook.disabled_reason,
        disabled_at=hook.disabled_at,
        consecutive_failures=hook.failures,
        created_at=hook.created_at,
        updated_at=hook.updated_at,
        secret=secret,
    )


async def check_target(state: State, url: str) -> None:
    """Refuse a URL whose host is private, loopback or link-local (unless allowed), or unresolvable.

    Raises:
        ValidationFailedError: With the pointer ``/url``.
    """
    try:
        _, host, port = check_url_syntax(url)
        await resolve_checked(host, port, state["hook_allow_nets"])
    except TargetRefusedError as exc:
        raise ValidationFailedError(str(exc), errors=[FieldError(pointer="/url", detail=str(exc))]) from None


async def _may_manage_project(state: State, principal: Principal, name: str) -> bool:
    if principal.has_scope("admin"):
        return True
    project, granted = await state["projects"].with_roles(name, principal.user_id)
    return project is not None and "edit" in effective_roles(principal, project, granted)


async def managed_hook(request: Request) -> HookDoc:
    """The hook in the path, if the caller may manage it.

    Raises:
        HookNotFoundError: No such hook, or not the caller's to manage.
    """
    state: State = request.scope["state"]
    hook_id = path_id(request, "hook_id", "hook")
    hook = await state["hooks"].get(hook_id)
    principal = caller(request)
    if hook is not None:
        if principal.has_scope("admin") or (not hook.project and hook.owner == principal.user_id):
            return hook
        if hook.project and await _may_manage_project(state, principal, hook.project):
            return hook
    raise HookNotFoundError(f"no hook {hook_id}")


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create_hook(request: Request) -> Response:
    """``POST /v1/hooks``: 201 with the hook and its ``secret`` (shown only here)."""
    state: State = request.scope["state"]
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), HookCreate)
    principal = caller(request)
    if ask.project is not None:
        project, granted = await state["projects"].with_roles(ask.project, principal.user_id)
        roles = effective_roles(principal, project, granted) if project is not None else frozenset[str]()
        if project is None or (project.visibility == "hidden" and "read" not in roles):
            detail = f"no project {ask.project!r}"
            raise ValidationFailedError(detail, errors=[FieldError(pointer="/project", detail=detail)])
        if "edit" not in roles:
            raise MissingRoleError("a project hook needs the 'edit' role on the project")
    await check_target(state, ask.url)
    hook_id = new_uuid7()
    secret = _new_secret()
    event = HookCreated(
        event_id=new_uuid7(),
        hook_id=hook_id,
        occurred_at=datetime.now(UTC),
        owner=principal.user_id,
        project=ask.project or "",
        url=ask.url,
        event_types=tuple(dict.fromkeys(ask.events)),
        secret=secret,
        is_active=ask.active,
        description=ask.description,
    )
    appended = await state["appender"].append(hook_subject(hook_id), event, expected_last_subject_seq=0)
    location = {**_NO_STORE, "Location": f"/v1/hooks/{hook_id}"}
    hook = await state["hooks"].get(hook_id) if await _wait(state, appended.seq) else None
    if hook is None:
        return json_response({"id": hook_id, "secret": secret, "status": "accepted"}, 202, location)
    return json_response(_view(hook, secret), 201, location)


async def _wait(state: State, seq: int) -> bool:
    return await state["hooks_watcher"].wait_for(seq, state["write_wait_s"])


async def list_hooks(request: Request) -> Response:
    """``GET /v1/hooks``: the caller's hooks and those of projects where they hold ``edit``."""
    state: State = request.scope["state"]
    principal = caller(request)
    hooks = await state["hooks"].listed(None if principal.has_scope("admin") else principal.user_id)
    return json_response(HookPage(items=[_view(h) for h in hooks]))


async def get_hook(request: Request) -> Response:
    """``GET /v1/hooks/{id}``."""
    return json_response(_view(await managed_hook(request)))


async def _append_and_wait(state: State, hook: HookDoc, event: HookUpdated | HookDeleted) -> None:
    try:
        appended = await state["appender"].append(hook_subject(hook.id), event, expected_last_subject_seq=hook.last_seq)
    except AppendConflictError:
        raise HookChangedError("the hook changed since it was read; read it again and retry") from None
    await _wait(state, appended.seq)


async def update_hook(request: Request) -> Response:
    """``PATCH /v1/hooks/{id}``: 200 with the hook; ``active: true`` re-enables a disabled one."""
    state: State = request.scope["state"]
    hook = await managed_hook(request)
    patch = decode_body(await read_json_body(request, state["max_body_bytes"]), HookPatch)
    if patch.url is not None:
        await check_target(state, patch.url)
    event = HookUpdated(
        event_id=new_uuid7(),
        hook_id=hook.id,
        occurred_at=datetime.now(UTC),
        url=patch.url,
        event_types=None if patch.events is None else tuple(dict.fromkeys(patch.events)),
        is_active=patch.active,
        description=patch.description,
        requested_by=caller(request).user_id,
    )
    await _append_and_wait(state, hook, event)
    after = await state["hooks"].get(hook.id)
    return json_response(_view(after or hook))


async def delete_hook(request: Request) -> Response:
    """``DELETE /v1/hooks/{id}``: 204; pending deliveries are dropped."""
    state: State = request.scope["state"]
    hook = await managed_hook(request)
    event = HookDeleted(
        event_id=new_uuid7(), hook_id=hook.id, occurred_at=datetime.now(UTC), requested_by=caller(request).user_id
    )
    await _append_and_wait(state, hook, event)
    return Response(status_code=204)


async def list_deliveries(request: Request) -> Response:
    """``GET /v1/hooks/{id}/deliveries?limit=&cursor=``: the delivery log, newest first."""
    state: State = request.scope["state"]
    hook = await managed_hook(request)
    params = request.query_params
    errors = [FieldError(pointer=k, detail="unknown parameter") for k in params if k not in ("limit", "cursor")]
    raw = params.get("limit", "50")
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
    if not 1 <= limit <= 500:
        errors.append(FieldError(pointer="limit", detail="an integer from 1 to 500"))
    if errors:
        raise InvalidQueryError("invalid query parameters", errors=errors)
    cursor = params.get("cursor")
    before = decode_cursor(cursor) if cursor else None
    items, last = await state["hooks"].deliveries(hook.id, limit=limit, before_seq=before)
    return json_response(DeliveryPage(items=items, next_cursor=encode_cursor(last) if last is not None else None))


async def redeliver(request: Request) -> Response:
    """``POST /v1/hooks/{id}/deliveries/{delivery_id}/redeliver``: 202; sent again at once, same
    ``webhook-id`` and body, with a fresh retry horizon."""
    state: State = request.scope["state"]
    hook = await managed_hook(request)
    delivery_id = path_id(request, "delivery_id", "delivery")
    if await state["hooks"].delivery_hook(delivery_id) != hook.id:
        raise DeliveryNotFoundError(f"hook {hook.id} has no delivery {delivery_id}")
    event = HookRedeliveryRequested(
        event_id=new_uuid7(),
        hook_id=hook.id,
        occurred_at=datetime.now(UTC),
        delivery_id=delivery_id,
        requested_by=caller(request).user_id,
    )
    appended = await state["appender"].append(hook_subject(hook.id), event)
    await _wait(state, appended.seq)
    return json_response({"id": delivery_id, "status": "pending"}, 202)


HOOK_ROUTES: Final = [
    Route("/v1/hooks", create_hook, methods=["POST"]),
    Route("/v1/hooks", list_hooks, methods=["GET"]),
    Route("/v1/hooks/{hook_id}", get_hook, methods=["GET"]),
    Route("/v1/hooks/{hook_id}", update_hook, methods=["PATCH"]),
    Route("/v1/hooks/{hook_id}", delete_hook, methods=["DELETE"]),
    Route("/v1/hooks/{hook_id}/deliveries", list_deliveries, methods=["GET"]),
    Route("/v1/hooks/{hook_id}/deliveries/{delivery_id}/redeliver", redeliver, methods=["POST"]),
]
