"""Outbound webhooks under ``/v1/hooks``: create, list, read, change, delete, the delivery log
and redelivery. The hook dispatcher owns the tables; this module checks, appends and waits.

Who may manage a hook, and creating and deleting one, are ``core.hooks``. Hooks one may not
manage answer 404, as missing ones.
"""

from datetime import UTC, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_events import (
    HookUpdated,
    new_uuid7,
)

from ...core import hooks
from ...core.context import State
from ...core.hook_bodies import DeliveryPage, HookCreate, HookPage, HookPatch, HookView
from ...core.hook_reader import HookDoc
from ...core.reader import decode_cursor, encode_cursor
from ...errors import (
    FieldError,
    InvalidQueryError,
)
from ...http.access import caller
from ...http.plumbing import json_response, page_limit, path_id, read_json_body
from ...http.validation import decode_body

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


async def managed_hook(request: Request) -> HookDoc:
    """The hook in the path, if the caller may manage it (``core.hooks.managed_hook``)."""
    return await hooks.managed_hook(request.scope["state"], caller(request), path_id(request, "hook_id", "hook"))


async def create_hook(request: Request) -> Response:
    """``POST /v1/hooks``: 201 with the hook and its ``secret`` (shown only here)."""
    state: State = request.scope["state"]
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), HookCreate)
    done = await hooks.create_hook(state, caller(request), ask)
    location = {**_NO_STORE, "Location": f"/v1/hooks/{done.hook_id}"}
    if done.hook is None:
        return json_response({"id": done.hook_id, "secret": done.secret, "status": "accepted"}, 202, location)
    return json_response(_view(done.hook, done.secret), 201, location)


async def list_hooks(request: Request) -> Response:
    """``GET /v1/hooks``: the caller's hooks and those of projects where they hold ``edit``."""
    state: State = request.scope["state"]
    principal = caller(request)
    hooks = await state["hooks"].listed(None if principal.has_scope("admin") else principal.user_id)
    return json_response(HookPage(items=[_view(h) for h in hooks]))


async def get_hook(request: Request) -> Response:
    """``GET /v1/hooks/{id}``."""
    return json_response(_view(await managed_hook(request)))


async def update_hook(request: Request) -> Response:
    """``PATCH /v1/hooks/{id}``: 200 with the hook; ``active: true`` re-enables a disabled one."""
    state: State = request.scope["state"]
    hook = await managed_hook(request)
    patch = decode_body(await read_json_body(request, state["max_body_bytes"]), HookPatch)
    if patch.url is not None:
        await hooks.check_target(state, patch.url)
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
    await hooks.append_and_wait(state, hook, event)
    after = await state["hooks"].get(hook.id)
    return json_response(_view(after or hook))


async def delete_hook(request: Request) -> Response:
    """``DELETE /v1/hooks/{id}``: 204; pending deliveries are dropped."""
    await hooks.delete_hook(request.scope["state"], caller(request), path_id(request, "hook_id", "hook"))
    return Response(status_code=204)


async def list_deliveries(request: Request) -> Response:
    """``GET /v1/hooks/{id}/deliveries?limit=&cursor=``: the delivery log, newest first."""
    state: State = request.scope["state"]
    hook = await managed_hook(request)
    params = request.query_params
    errors = [FieldError(pointer=k, detail="unknown parameter") for k in params if k not in ("limit", "cursor")]
    limit = page_limit(params, errors)
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
    hook = await managed_hook(request)  # a hook one may not manage answers 404 before a bad delivery id's 422
    delivery_id = path_id(request, "delivery_id", "delivery")
    await hooks.redeliver(state, caller(request), hook.id, delivery_id)
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
