"""Users and API tokens: ``/v1/me``, ``/v1/tokens`` (the caller's own) and ``/v1/users`` (admins).

A token is generated here, shown once in the response and appended only as its SHA-256. Writes
wait (within the write wait) until the identity projection has applied them, so a new token
works as soon as the response arrives; past the wait it answers 202 and works shortly after.
"""

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core import users
from ...core.context import State
from ...errors import FieldError, TokenNotFoundError, UserNotFoundError, ValidationFailedError
from ...http.access import caller
from ...http.plumbing import json_response, path_id, read_json_body
from ...http.validation import decode_body
from .bodies import Me, TokenCreated, TokenRequest, UserRequest

_NO_STORE: Final = {"Cache-Control": "no-store"}


async def _wait_identity(state: State, seq: int) -> bool:
    return await state["identity_watcher"].wait_for(seq, state["write_wait_s"])


async def _issue(request: Request, user_id: str, ask: TokenRequest) -> Response:
    state: State = request.scope["state"]
    scopes: list[str] = list(dict.fromkeys(ask.scopes))
    token, token_id, expires_at, is_applied = await users.issue_token(
        state, user_id, tuple(scopes), name=ask.name, issued_by=caller(request).user_id, expires_in_s=ask.expires_in_s
    )
    body = TokenCreated(id=token_id, user_id=user_id, name=ask.name, scopes=scopes, token=token, expires_at=expires_at)
    return json_response(body, 201 if is_applied else 202, {**_NO_STORE, "Location": f"/v1/tokens/{token_id}"})


async def me(request: Request) -> Response:
    """``GET /v1/me``: the caller and the scopes of the token used."""
    p = caller(request)
    body = Me(user_id=p.user_id, name=p.name, is_admin=p.is_admin, token_id=p.token_id, scopes=sorted(p.scopes))
    return json_response(body)


async def create_token(request: Request) -> Response:
    """``POST /v1/tokens``: a new token for the caller, with a subset of the calling token's scopes."""
    state: State = request.scope["state"]
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), TokenRequest)
    p = caller(request)
    errors = [
        FieldError(pointer=f"/scopes/{i}", detail="the calling token does not have this scope")
        for i, s in enumerate(ask.scopes)
        if not p.has_scope(s) or (s == "admin" and "admin" not in p.scopes)
    ]
    if errors:
        raise ValidationFailedError("a token can only get scopes the calling token has", errors=errors)
    return await _issue(request, p.user_id, ask)


async def list_tokens(request: Request) -> Response:
    """``GET /v1/tokens``: the caller's tokens (never the tokens themselves), newest first."""
    state: State = request.scope["state"]
    return json_response({"items": await state["identity"].tokens_of(caller(request).user_id)})


async def revoke_token(request: Request) -> Response:
    """``DELETE /v1/tokens/{id}``: revoke one of the caller's tokens (an admin: anyone's). 204."""
    state: State = request.scope["state"]
    token_id = path_id(request, "token_id", "token")
    p = caller(request)
    found = await state["identity"].token(token_id)
    if found is None or (found.user_id != p.user_id and not p.has_scope("admin")):
        raise TokenNotFoundError(f"no token {token_id}")
    if found.revoked_at is None and not await users.revoke_token(state, found.user_id, token_id, by=p.user_id):
        return json_response({"id": token_id, "status": "accepted"}, 202)
    return Response(status_code=204)


async def create_user(request: Request) -> Response:
    """``POST /v1/users`` (admin): a new user; give it tokens with ``POST /v1/users/{id}/tokens``."""
    state: State = request.scope["state"]
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), UserRequest)
    user_id, is_applied = await users.create_user(
        state, ask.name, is_admin=ask.is_admin, created_by=caller(request).user_id
    )
    user = await state["identity"].user(user_id) if is_applied else None
    body = user or {"id": user_id, "name": ask.name, "is_admin": ask.is_admin}
    return json_response(body, 201 if user else 202, {"Location": f"/v1/users/{user_id}"})


async def list_users(request: Request) -> Response:
    """``GET /v1/users`` (admin)."""
    state: State = request.scope["state"]
    return json_response({"items": await state["identity"].users()})


async def _known_user(request: Request) -> str:
    state: State = request.scope["state"]
    user_id = path_id(request, "user_id", "user")
    if await state["identity"].user(user_id) is None:
        raise UserNotFoundError(f"no user {user_id}")
    return user_id


async def issue_user_token(request: Request) -> Response:
    """``POST /v1/users/{id}/tokens`` (admin): a token for another user."""
    state: State = request.scope["state"]
    ask = decode_body(await read_json_body(request, state["max_body_bytes"]), TokenRequest)
    return await _issue(request, await _known_user(request), ask)


async def list_user_tokens(request: Request) -> Response:
    """``GET /v1/users/{id}/tokens`` (admin)."""
    state: State = request.scope["state"]
    return json_response({"items": await state["identity"].tokens_of(await _known_user(request))})


IDENTITY_ROUTES: Final = [
    Route("/v1/me", me, methods=["GET"]),
    Route("/v1/tokens", list_tokens, methods=["GET"]),
    Route("/v1/tokens", create_token, methods=["POST"]),
    Route("/v1/tokens/{token_id}", revoke_token, methods=["DELETE"]),
    Route("/v1/users", create_user, methods=["POST"]),
    Route("/v1/users", list_users, methods=["GET"]),
    Route("/v1/users/{user_id}/tokens", issue_user_token, methods=["POST"]),
    Route("/v1/users/{user_id}/tokens", list_user_tokens, methods=["GET"]),
]
